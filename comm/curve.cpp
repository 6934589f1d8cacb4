// CURVE key generation and key files (see curve.h).
#include "comm/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "comm/transport.h"
#include "comm/zmq_check.h"

namespace ringmaster::comm {
namespace {

constexpr size_t kZ85KeyLength = 40;

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The file's lines; throws when it cannot be read or is absurdly large.
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TransportError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  if (text.size() > (size_t{1} << 20))
    throw TransportError(path + ": more than 1 MiB, not a key file or allowlist");
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out.push_back(line);
  return out;
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw TransportError("cannot write " + path + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // an existing file keeps its mode otherwise
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      throw TransportError("cannot write " + path + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) throw TransportError("cannot sync " + path + ": " + std::strerror(errno));
}

}  // namespace

bool is_z85_key(const std::string& s) {
  static const char* const kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (s.size() != kZ85KeyLength) return false;
  for (char c : s)
    if (c == '\0' || std::strchr(kAlphabet, c) == nullptr) return false;
  return true;
}

CurveKeypair make_curve_keypair() {
  char pub[kZ85KeyLength + 1], sec[kZ85KeyLength + 1];
  if (zmq_curve_keypair(pub, sec) != 0)
    throw TransportError(std::string("cannot make a CURVE keypair: ") + zmq_strerror(zmq_errno()) +
                         " (libzmq without CURVE?)");
  return {std::string(pub, kZ85KeyLength), std::string(sec, kZ85KeyLength)};
}

std::string curve_public_of(const std::string& secret_key) {
  if (!is_z85_key(secret_key)) throw TransportError("a CURVE secret key is 40 Z85 characters");
  char pub[kZ85KeyLength + 1];
  if (zmq_curve_public(pub, secret_key.c_str()) != 0)
    throw TransportError(std::string("zmq_curve_public: ") + zmq_strerror(zmq_errno()));
  return std::string(pub, kZ85KeyLength);
}

void write_curve_keypair(const std::string& base, const CurveKeypair& keys) {
  write_file(base + ".key", "public " + keys.public_key + "\nsecret " + keys.secret_key + "\n",
             0600);
  write_file(base + ".pub", keys.public_key + "\n", 0644);
}

CurveKeypair read_curve_keypair(const std::string& path) {
  CurveKeypair k;
  const std::vector<std::string> lines = lines_of(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trimmed(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    const std::string word = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : trimmed(line.substr(space));
    const std::string where = path + ":" + std::to_string(i + 1);
    if (word != "public" && word != "secret")
      throw TransportError(where + ": expected \"public KEY\" or \"secret KEY\"");
    if (!is_z85_key(value))
      throw TransportError(where + ": the " + word + " key is not 40 Z85 characters");
    (word == "public" ? k.public_key : k.secret_key) = value;
  }
  if (k.secret_key.empty()) throw TransportError(path + ": no \"secret\" line");
  const std::string derived = curve_public_of(k.secret_key);
  if (k.public_key.empty()) k.public_key = derived;
  if (k.public_key != derived)
    throw TransportError(path + ": the public key does not belong to the secret one");
  return k;
}

std::string read_curve_public_key(const std::string& key_or_path) {
  if (is_z85_key(key_or_path) && ::access(key_or_path.c_str(), F_OK) != 0) return key_or_path;
  for (const std::string& raw : lines_of(key_or_path)) {
    std::string line = trimmed(raw);
    if (line.rfind("secret ", 0) == 0) continue;
    if (line.rfind("public ", 0) == 0) line = trimmed(line.substr(7));
    if (is_z85_key(line)) return line;
    if (line.empty() || line[0] == '#') continue;
    throw TransportError(key_or_path + ": not a CURVE public key (40 Z85 characters)");
  }
  throw TransportError(key_or_path + ": no public key in it");
}

std::set<std::string> read_curve_allowlist(const std::string& path) {
  std::set<std::string> keys;
  const std::vector<std::string> lines = lines_of(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trimmed(lines[i]);
    if (line.empty()) continue;
    // '#' is a Z85 character: a key comes first, a comment may follow it
    // after a space, and any other line starting with '#' is a comment.
    const size_t space = line.find_first_of(" \t");
    const std::string key = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : trimmed(line.substr(space));
    if (is_z85_key(key) && (rest.empty() || rest[0] == '#')) {
      keys.insert(key);
      continue;
    }
    if (line[0] == '#') continue;
    throw TransportError(path + ":" + std::to_string(i + 1) +
                         ": not a CURVE public key (40 Z85 characters)");
  }
  return keys;
}

}  // namespace ringmaster::comm
