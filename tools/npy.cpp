#include "tools/npy.h"

#include "base/error.h"
#include "base/file_io.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tessera::cli {

namespace {

constexpr char kMagic[] = "\x93NUMPY";

int elem_bytes(const std::string& descr) {
  if (descr == "<f4") {
    return 4;
  }
  if (descr == "<u2") {
    return 2;
  }
  return 0;
}

/** A tiny parser for the header's Python dict literal. */
class HeaderParser {
public:
  HeaderParser(std::string text, std::string what) : s_(std::move(text)), what_(std::move(what)) {}

  NpyArray parse() {
    NpyArray a;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        a.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        skip();
        if (s_.compare(i_, 5, "False") == 0) {
          i_ += 5;
        } else if (s_.compare(i_, 4, "True") == 0) {
          fail("Fortran-order arrays are not supported; save with np.ascontiguousarray");
        } else {
          fail("fortran_order must be True or False");
        }
        have_order = true;
      } else if (key == "shape") {
        a.shape = shape();
        have_shape = true;
      } else {
        fail(fmt::format("unexpected header key '{}'", key));
      }
      skip();
      if (peek() == ',') {
        ++i_;
      }
    }
    if (!have_descr || !have_order || !have_shape) {
      fail("header lacks descr, fortran_order or shape");
    }
    return a;
  }

private:
  [[noreturn]] void fail(const std::string& why) const {
    throw UserError(fmt::format("{}: corrupt or unsupported .npy header: {}", what_, why));
  }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) {
      ++i_;
    }
  }
  char peek() {
    if (i_ >= s_.size()) {
      fail("unexpected end of header");
    }
    return s_[i_];
  }
  void expect(char c) {
    skip();
    if (peek() != c) {
      fail(fmt::format("expected '{}' at offset {}", c, i_));
    }
    ++i_;
  }
  std::string string_literal() {
    skip();
    const char q = peek();
    if (q != '\'' && q != '"') {
      fail(fmt::format("expected a string at offset {}", i_));
    }
    const auto end = s_.find(q, i_ + 1);
    if (end == std::string::npos) {
      fail("unterminated string");
    }
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return out;
  }
  std::vector<std::int64_t> shape() {
    expect('(');
    std::vector<std::int64_t> dims;
    while (true) {
      skip();
      if (peek() == ')') {
        ++i_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        fail(fmt::format("bad shape entry at offset {}", i_));
      }
      std::int64_t v = 0;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        if (v > (std::int64_t{1} << 50)) {
          fail("shape entry too large");
        }
        v = v * 10 + (s_[i_++] - '0');
      }
      dims.push_back(v);
      skip();
      if (peek() == ',') {
        ++i_;
      }
    }
  }

  std::string s_;
  std::string what_;
  std::size_t i_ = 0;
};

} // namespace

std::int64_t NpyArray::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) {
    n *= d;
  }
  return n;
}

namespace {

/** What the first bytes of a .npy image say: the array (no bytes yet) and where its data
 * starts. `prefix` holds at least the first min(12, file size) bytes; `read_header` returns
 * the header text (bytes [offset, offset + header_len)). */
struct NpyLayout {
  NpyArray array;
  std::uint64_t data_offset = 0;
  std::uint64_t data_bytes = 0;
};

template <typename ReadHeader>
NpyLayout parse_layout(const std::uint8_t* prefix, std::uint64_t file_size, const std::string& what,
                       ReadHeader read_header) {
  if (file_size < 10 || std::string(prefix, prefix + 6) != std::string(kMagic, 6)) {
    throw UserError(fmt::format("{}: not a .npy file (bad magic)", what));
  }
  const int major = prefix[6];
  std::uint64_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = prefix[8] | (prefix[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (file_size < 12) {
      throw UserError(fmt::format("{}: truncated .npy header", what));
    }
    header_len =
        prefix[8] | (prefix[9] << 8) | (prefix[10] << 16) | (std::uint64_t(prefix[11]) << 24);
    offset = 12;
  } else {
    throw UserError(fmt::format("{}: unsupported .npy format version {}", what, major));
  }
  if (offset + header_len > file_size) {
    throw UserError(fmt::format("{}: truncated .npy header", what));
  }
  NpyLayout layout;
  layout.array = HeaderParser(read_header(offset, header_len), what).parse();
  NpyArray& a = layout.array;
  const int eb = elem_bytes(a.descr);
  if (eb == 0) {
    throw UserError(fmt::format("{}: unsupported dtype '{}'; expected float32 ('<f4') or "
                                "uint16 ('<u2', bfloat16 bit patterns)",
                                what, a.descr));
  }
  layout.data_offset = offset + header_len;
  // The shape's byte count, refused when it overflows (a hostile header) before any use.
  std::int64_t need = eb;
  for (const std::int64_t d : a.shape) {
    if (__builtin_mul_overflow(need, d, &need)) {
      throw UserError(fmt::format("{}: shape ({}) of {} overflows a 64-bit byte count", what,
                                  fmt::join(a.shape, ", "), a.descr));
    }
  }
  const std::uint64_t have = file_size - layout.data_offset;
  if (static_cast<std::uint64_t>(need) != have) {
    throw UserError(fmt::format("{}: shape ({}) of {} needs {} data bytes, the file has {}", what,
                                fmt::join(a.shape, ", "), a.descr, need, have));
  }
  layout.data_bytes = have;
  return layout;
}

/** The header text: the dict, padding and newline, without the prefix. */
std::string encode_header(const NpyArray& a) {
  const int eb = elem_bytes(a.descr);
  if (eb == 0) {
    throw UserError(fmt::format("write_npy: unsupported dtype '{}'", a.descr));
  }
  if (static_cast<std::int64_t>(a.bytes.size()) != a.numel() * eb) {
    throw UserError(fmt::format("write_npy: {} bytes for shape ({}) of {}", a.bytes.size(),
                                fmt::join(a.shape, ", "), a.descr));
  }
  std::string shape = fmt::format("{}", fmt::join(a.shape, ", "));
  if (a.shape.size() == 1) {
    shape += ",";
  }
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", a.descr, shape);
  // Pad so the data starts on a 64-byte boundary; the header ends in '\n'.
  const bool v2 = header.size() + 11 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  const std::size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  const std::size_t len = header.size();
  out.push_back(static_cast<char>(len & 0xFF));
  out.push_back(static_cast<char>((len >> 8) & 0xFF));
  if (v2) {
    out.push_back(static_cast<char>((len >> 16) & 0xFF));
    out.push_back(static_cast<char>((len >> 24) & 0xFF));
  }
  return out + header;
}

} // namespace

NpyArray parse_npy(const std::vector<std::uint8_t>& file, const std::string& what) {
  std::uint8_t prefix[12] = {};
  std::copy_n(file.begin(), std::min<std::size_t>(file.size(), sizeof prefix), prefix);
  NpyLayout layout = parse_layout(prefix, file.size(), what, [&](auto offset, auto len) {
    return std::string(file.begin() + offset, file.begin() + offset + len);
  });
  layout.array.bytes.assign(file.begin() + layout.data_offset, file.end());
  return std::move(layout.array);
}

NpyArray read_npy(const std::string& path) {
  // The header is read and checked against the file's size before the payload is allocated
  // or read, which then goes straight into the array; InputFile refuses a directory or a
  // device (/dev/zero) before reading anything.
  const InputFile file(path);
  std::uint8_t prefix[12] = {};
  file.read_at(0, prefix, std::min<std::uint64_t>(file.size(), sizeof prefix));
  NpyLayout layout = parse_layout(prefix, file.size(), path, [&](auto offset, auto len) {
    std::string header(len, '\0');
    file.read_at(offset, header.data(), len);
    return header;
  });
  layout.array.bytes.resize(layout.data_bytes);
  file.read_at(layout.data_offset, layout.array.bytes.data(), layout.data_bytes);
  return std::move(layout.array);
}

std::vector<std::uint8_t> encode_npy(const NpyArray& a) {
  const std::string header = encode_header(a);
  std::vector<std::uint8_t> out(header.begin(), header.end());
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  return out;
}

void write_npy(const std::string& path, const NpyArray& array) {
  const std::string header = encode_header(array);
  write_file_atomic(path,
                    {header, std::string_view(reinterpret_cast<const char*>(array.bytes.data()),
                                              array.bytes.size())});
}

} // namespace tessera::cli
