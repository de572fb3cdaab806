#include "base/file_io.h"

#include "base/error.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace tessera {

namespace {

std::string os_reason(int error) {
  return std::strerror(error);
}

/** A name beside `path` no other writer (thread or process) uses. */
std::filesystem::path temporary_name(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() / fmt::format(".{}.tmp-{}-{}", path.filename().string(),
                                          static_cast<long>(::getpid()), counter.fetch_add(1));
}

} // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomic(path, {bytes});
}

void write_file_atomic(const std::filesystem::path& path,
                       std::initializer_list<std::string_view> parts) {
  const std::filesystem::path tmp = temporary_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw IoError(fmt::format("cannot write '{}': {}", path.string(), os_reason(errno)));
  }
  const auto fail = [&](int error) {
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("cannot write '{}': {}", path.string(), os_reason(error)));
  };
  for (const std::string_view bytes : parts) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        const int error = n < 0 ? errno : EIO;
        ::close(fd);
        fail(error);
      }
      done += static_cast<std::size_t>(n);
    }
  }
  // close() is where some file systems (NFS, delayed allocation) report a failed write.
  if (::close(fd) != 0) {
    fail(errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    fail(errno);
  }
}

InputFile::InputFile(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw IoError(fmt::format("cannot read '{}': {}", path.string(), os_reason(errno)));
  }
  struct stat st {};
  std::string reason;
  if (::fstat(fd_, &st) != 0) {
    reason = os_reason(errno);
  } else if (S_ISDIR(st.st_mode)) {
    reason = "is a directory";
  } else if (!S_ISREG(st.st_mode)) {
    reason = "not a regular file"; // a device or FIFO (/dev/zero) has no size to trust
  }
  if (!reason.empty()) {
    ::close(fd_);
    throw IoError(fmt::format("cannot read '{}': {}", path.string(), reason));
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  ::close(fd_);
}

void InputFile::read_at(std::uint64_t offset, void* dst, std::size_t count) const {
  auto* out = static_cast<char*>(dst);
  std::size_t done = 0;
  while (done < count) {
    const ssize_t n = ::pread(fd_, out + done, count - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      // n == 0: the file shrank after it was opened.
      throw IoError(fmt::format("cannot read '{}': {}", path_.string(),
                                n < 0 ? os_reason(errno) : std::string("file truncated")));
    }
    done += static_cast<std::size_t>(n);
  }
}

std::string read_file(const std::filesystem::path& path) {
  const InputFile file(path);
  std::string out(static_cast<std::size_t>(file.size()), '\0');
  file.read_at(0, out.data(), out.size());
  return out;
}

void flush_stdout() {
  std::cout.flush();
  if (!std::cout) {
    throw IoError("cannot write to standard output");
  }
}

} // namespace tessera
