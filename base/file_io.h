/** \file
 * Files written whole or not at all. Every file Tessera writes (cache entries, cubins, .npy
 * outputs, tuning tables, dumps) goes through write_file_atomic: the bytes go to a temporary
 * name beside the target, every write and the close are checked, and only then is the
 * temporary renamed over the target. A full disk, a file-size limit or an I/O error is an
 * IoError naming the path and the OS reason, and leaves nothing under the target name (an
 * older file there stays as it was).
 */
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tessera {

/** Writes `bytes` to `path` atomically (see the file comment). Throws IoError. */
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/** Writes the concatenation of `parts` atomically, without first joining them in memory (a
 * header and a large payload). Throws IoError. */
void write_file_atomic(const std::filesystem::path& path,
                       std::initializer_list<std::string_view> parts);

/** A regular file opened for reading in pieces: a format's header first, then its payload
 * straight into its destination, so nothing is read (or allocated) before the header has been
 * checked against the file's size. Opening refuses a directory, a device or a FIFO. */
class InputFile {
public:
  /** Throws IoError naming the path and the reason. */
  explicit InputFile(const std::filesystem::path& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /** The size the file had when it was opened. */
  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  /** Reads exactly `count` bytes at `offset` into `dst`; a short file is an IoError. */
  void read_at(std::uint64_t offset, void* dst, std::size_t count) const;

private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

/** The whole file at `path`. Throws IoError naming the path and the reason (missing, a
 * directory, unreadable). */
std::string read_file(const std::filesystem::path& path);

/** Flushes standard output and throws IoError when anything written to it was lost (a closed
 * pipe, /dev/full): a command's output must not vanish while it reports success. */
void flush_stdout();

} // namespace tessera
