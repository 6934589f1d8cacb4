// ZAP handler and reloadable allowlists (see zap_authenticator.h).
#include "comm/zap_authenticator.h"

#include <sys/stat.h>

#include <cstdio>
#include <vector>

#include "comm/curve.h"
#include "comm/zmq_check.h"

namespace ringmaster::comm {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string z85_of(const std::string& binary_key) {
  char text[41];
  if (binary_key.size() != 32 ||
      zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(binary_key.data()), 32) == nullptr)
    return "";
  return std::string(text, 40);
}

// One multipart request: its frames, or empty when it was malformed.
std::vector<std::string> receive_all(void* socket) {
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t part;
    ZMQ_CHECK(zmq_msg_init(&part));
    if (zmq_msg_recv(&part, socket, ZMQ_DONTWAIT) == -1) {
      ZMQ_CHECK(zmq_msg_close(&part));
      return {};
    }
    frames.emplace_back(static_cast<const char*>(zmq_msg_data(&part)), zmq_msg_size(&part));
    const bool more = zmq_msg_more(&part) != 0;
    ZMQ_CHECK(zmq_msg_close(&part));
    if (!more || frames.size() > 16) break;
  }
  return frames;
}

}  // namespace

CurveAllowlist::CurveAllowlist(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) throw TransportError("cannot read allowlist " + path_);
  keys_ = read_curve_allowlist(path_);
  size_ = st.st_size;
  mtime_ = st.st_mtim;
}

void CurveAllowlist::reload_if_changed() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // gone for now: keep what we had
  if (st.st_size == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
      st.st_mtim.tv_nsec == mtime_.tv_nsec)
    return;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  try {
    keys_ = read_curve_allowlist(path_);
    std::fprintf(stderr, "allowlist %s reloaded: %zu key(s)\n", path_.c_str(), keys_.size());
  } catch (const TransportError& e) {
    std::fprintf(stderr, "allowlist %s not reloaded, keeping %zu key(s): %s\n", path_.c_str(),
                 keys_.size(), e.what());
  }
}

bool CurveAllowlist::allows(const std::string& public_key) {
  std::lock_guard lock(mu_);
  reload_if_changed();
  return keys_.count(public_key) > 0;
}

size_t CurveAllowlist::size() {
  std::lock_guard lock(mu_);
  reload_if_changed();
  return keys_.size();
}

ZapAuthenticator::ZapAuthenticator(Context& ctx, Policy policy) : policy_(std::move(policy)) {
  socket_ = zmq_socket(ctx.raw(), ZMQ_REP);
  if (socket_ == nullptr)
    throw TransportError(std::string("zmq_socket: ") + zmq_strerror(zmq_errno()));
  const int linger = 0;
  ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger));
  if (zmq_bind(socket_, kZapEndpoint) == -1) {
    const std::string why = zmq_strerror(zmq_errno());
    ZMQ_CHECK(zmq_close(socket_));
    throw TransportError("cannot start the ZAP handler: " + why +
                         " (one per context: is another running?)");
  }
  thread_ = std::thread([this] { run(); });
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ZMQ_CHECK(zmq_close(socket_));
}

ZapAuthenticator::Policy ZapAuthenticator::admit_only(std::string domain, std::string public_key) {
  return [domain = std::move(domain), public_key = std::move(public_key)](
             const std::string& d, const std::string& key, const std::string&) {
    return d == domain && key == public_key;
  };
}

std::map<std::string, ZapAuthenticator::Counts> ZapAuthenticator::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void ZapAuthenticator::run() {
  while (!stop_) {
    zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
    const int n = zmq_poll(&item, 1, 100);
    if (n <= 0 || !(item.revents & ZMQ_POLLIN)) continue;
    answer(socket_);
  }
}

// Request: version, request id, domain, address, identity, mechanism,
// credentials. Reply: version, request id, status code, status text, user
// id, metadata.
void ZapAuthenticator::answer(void* socket) {
  const std::vector<std::string> f = receive_all(socket);
  if (f.empty()) return;
  const std::string request_id = f.size() > 1 ? f[1] : "";
  const std::string domain = f.size() > 2 ? f[2] : "";
  const std::string address = f.size() > 3 ? f[3] : "";
  const bool curve = f.size() >= 7 && f[0] == "1.0" && f[5] == "CURVE";
  const std::string key = curve ? z85_of(f[6]) : "";
  bool ok = false;
  if (!key.empty()) {
    try {
      ok = policy_(domain, key, address);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ZAP: the policy failed (%s): refused\n", e.what());
    }
  }
  {
    std::lock_guard lock(mu_);
    ++(ok ? counts_[domain].accepted : counts_[domain].refused);
  }
  if (!ok)
    std::fprintf(stderr, "ZAP: refused %s key %s from %s (domain \"%s\")\n",
                 curve ? "CURVE" : (f.size() > 5 ? f[5].c_str() : "a malformed"),
                 key.empty() ? "-" : key.c_str(), address.c_str(), domain.c_str());
  const std::string status = ok ? "200" : "400";
  const std::string text = ok ? "OK" : "key not allowed";
  const std::string user = ok ? key : "";
  static const std::string kVersion = "1.0";
  const std::string* reply[] = {&kVersion, &request_id, &status, &text, &user};
  for (const std::string* part : reply)
    if (zmq_send(socket, part->data(), part->size(), ZMQ_SNDMORE) == -1) return;
  zmq_send(socket, "", 0, 0);
}

}  // namespace ringmaster::comm
