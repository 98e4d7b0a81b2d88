#ifndef ROOST_CRC32C_H
#define ROOST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends a finished CRC-32C (Castagnoli) value with `length` more bytes.
/// Start a fresh checksum with crc = 0: roost_crc32c_extend(0, "123456789", 9) == 0xE3069283.
/// Uses the SSE 4.2 crc32 instruction when the CPU has it, a table otherwise.
uint32_t roost_crc32c_extend(uint32_t crc, const void *bytes, size_t length);

/// The portable table implementation, exposed so tests can check both paths agree.
uint32_t roost_crc32c_extend_portable(uint32_t crc, const void *bytes, size_t length);

#endif
