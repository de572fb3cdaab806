/** \file
 * Files written whole or not at all. Every file Tessera writes (cache entries, cubins, .npy
 * outputs, tuning tables, dumps) goes through write_file_atomic: the bytes go to a temporary
 * name beside the target, every write and the close are checked, and only then is the
 * temporary renamed over the target. A full disk, a file-size limit or an I/O error is an
 * IoError naming the path and the OS reason, and leaves nothing under the target name (an
 * older file there stays as it was).
 */
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tessera {

/** Writes `bytes` to `path` atomically (see the file comment). Throws IoError. */
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/** The whole file at `path`. Throws IoError naming the path and the reason (missing, a
 * directory, unreadable). */
std::string read_file(const std::filesystem::path& path);

/** Flushes standard output and throws IoError when anything written to it was lost (a closed
 * pipe, /dev/full): a command's output must not vanish while it reports success. */
void flush_stdout();

} // namespace tessera
