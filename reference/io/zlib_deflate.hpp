// sixbit/reference/io/zlib_deflate.hpp: the checksums and compressor the PNG writer needs, written here so the
// project has no libpng/zlib dependency.
//
// crc32: ISO-HDLC / PNG CRC (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF; PNG spec 5.5).
// adler32: RFC 1950 section 8.2 (sums modulo 65521).
// zlib_compress: an RFC 1950 zlib stream holding one RFC 1951 deflate block with the *fixed* Huffman codes
// (BTYPE 01, section 3.2.6) over greedy LZ77 matches (hash chains, 32 KiB window). Deterministic: the output
// depends only on the input bytes. Decoded in tests by Python's zlib and Pillow (tests/oracle/media_pillow.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sixbit::io {

uint32_t crc32(const uint8_t* data, std::size_t n, uint32_t crc = 0);  // crc: a previous result, to continue
uint32_t adler32(const uint8_t* data, std::size_t n, uint32_t adler = 1);
std::vector<uint8_t> zlib_compress(const uint8_t* data, std::size_t n);

}  // namespace sixbit::io
