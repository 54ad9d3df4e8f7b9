// sixbit: the command. Subcommands are registered in harness/commands.cpp.
#include <cstdio>
int main() { std::puts("sixbit: placeholder"); return 0; }
