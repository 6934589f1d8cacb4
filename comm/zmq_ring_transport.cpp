// ZmqRingTransport: a ROUTER that receives from the left neighbour, a DEALER
// that sends to the right one, a monitor on each. Chunks take the shared
// memory link or the TCP stream when the handshake set one up; through
// ZeroMQ, payloads go out as a copy that ZeroMQ owns (zmq_msg_init_data on
// our heap block; ZeroMQ calls release() once it is written or dropped, which
// frees it), and received payloads are handed to the caller in ZeroMQ's own
// buffer. Every wait is bounded by a deadline. Not done here: reconnecting a
// broken ring (the caller builds a new one) or any data transformation.
#include "comm/zmq_ring_transport.h"
#include "comm/curve.h"
#include "comm/heap_tuning.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <sstream>

#include "comm/poll_deadline.h"
#include "comm/ring_wire.h"
#include "comm/shm_link.h"
#include "comm/tcp_stream.h"
#include "comm/zmq_check.h"
#include "ops/check.h"

namespace ringmaster::comm {
namespace {

using Clock = RingTransport::Clock;
using std::chrono::milliseconds;

// How long a neighbour's disconnect may precede the last of its messages
// becoming readable here (ZeroMQ reports the event and queues the data on
// different paths), and how long a closing transport waits for ZeroMQ to
// release the payloads it still references. ZeroMQ may hold a queued chunk
// until the Context ends, and was seen (under AddressSanitizer, on a loaded
// machine) still writing one after the socket was closed with linger 0 and
// this wait had given up: so what it holds is its own copy, never the
// caller's buffer, and the wait only bounds how long a closing rank lets
// queued chunks drain.
constexpr milliseconds kDisconnectGrace{200};
constexpr milliseconds kReleaseWait{500};
constexpr int kMaxParts = 4;
// Waits on shared memory sleep at most this long between looks at the
// ZeroMQ side (a neighbour's disconnect or abort); shorter while chunks of
// ours wait for a free slot, which no futex tells us about while we wait for data.
constexpr std::chrono::microseconds kShmSlice{5000}, kShmPendingSlice{200};

// False when the environment sets `name` to 0 (a path switched off).
bool environment_allows(const char* name) {
  const char* env = std::getenv(name);
  return !(env != nullptr && std::string(env) == "0");
}

bool shared_memory_allowed(const ZmqRingOptions& o) {
  return o.shared_memory && environment_allows("RINGMASTER_RING_SHM");
}

// Chunks over a plain TCP connection of our own: never with CURVE, whose
// encryption only the ZeroMQ connection has.
bool tcp_stream_allowed(const ZmqRingOptions& o) {
  return o.tcp_stream && o.curve_secret_key.empty() && environment_allows("RINGMASTER_RING_STREAM");
}

// Payload copies ZeroMQ still holds; release() runs on ZeroMQ's I/O thread.
struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  int64_t count = 0;

  void add() {
    std::lock_guard lock(mu);
    ++count;
  }
  int64_t pending() {
    std::lock_guard lock(mu);
    return count;
  }
  bool wait_zero_until(Clock::time_point until) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, until, [&] { return count == 0; });
  }
};

void release(void* data, void* hint) {
  std::free(data);
  auto* f = static_cast<InFlight*>(hint);
  std::lock_guard lock(f->mu);
  if (--f->count == 0) f->cv.notify_all();
}

// A zmq_msg_t that closes itself.
struct Msg {
  zmq_msg_t m;
  Msg() { ZMQ_CHECK(zmq_msg_init(&m)); }
  ~Msg() { ZMQ_CHECK(zmq_msg_close(&m)); }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;
  const std::byte* data() { return static_cast<const std::byte*>(zmq_msg_data(&m)); }
  size_t size() { return zmq_msg_size(&m); }
};

// One whole multipart message (the first kMaxParts parts; `parts` counts all).
struct Multipart {
  Msg msg[kMaxParts];
  int parts = 0;
};

// Reads one whole message; false when none is ready. A message is delivered
// atomically, so once its first part is readable the rest are. With
// `counters`, counts every part but the first `unsent_parts` (a ROUTER's
// routing identity, which no peer sent).
bool read_message(void* socket, Multipart& out, WireCounters* counters = nullptr,
                  int unsent_parts = 0) {
  for (;;) {
    Msg scratch;
    zmq_msg_t* m = out.parts < kMaxParts ? &out.msg[out.parts].m : &scratch.m;
    if (zmq_msg_recv(m, socket, ZMQ_DONTWAIT) == -1) {
      const int e = zmq_errno();
      if (out.parts == 0 && (e == EAGAIN || e == EINTR)) return false;
      ZMQ_CHECK(-1);
    }
    if (counters != nullptr && out.parts >= unsent_parts) counters->count_received(zmq_msg_size(m));
    ++out.parts;
    if (!zmq_msg_more(m)) return true;
  }
}

std::string printable(const std::byte* data, size_t size) {
  std::string s;
  for (size_t i = 0; i < size && i < 32; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'') {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    }
  }
  return s;
}

// "127.0.0.1:51234" for the connection a received message came from.
std::string source_address(zmq_msg_t* m) {
  const int fd = zmq_msg_get(m, ZMQ_SRCFD);
  if (fd >= 0) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
      return std::string(ip) + ":" + std::to_string(ntohs(in->sin_port));
    }
  }
  const char* addr = zmq_msg_gets(m, "Peer-Address");
  return addr ? addr : "unknown address";
}

std::string describe(const ChunkHeader& h) {
  std::ostringstream os;
  os << "chunk (collective " << h.collective << ", bucket " << h.bucket << ", step " << h.step
     << ", piece " << h.piece << ", " << (h.codec == Codec::kF16 ? "f16" : "f32") << ", " << h.bytes
     << " bytes)";
  return os.str();
}

void set_int(void* s, int option, int value) {
  ZMQ_CHECK(zmq_setsockopt(s, option, &value, sizeof value));
}

// A CURVE key option (Z85 text, checked when the transport is made).
void set_key(void* s, int option, const std::string& z85) {
  ZMQ_CHECK(zmq_setsockopt(s, option, z85.data(), z85.size()));
}

}  // namespace

struct ZmqRingTransport::Impl {
  ZmqRingOptions options;
  void* ctx = nullptr;
  void* listener = nullptr;      // ROUTER: chunks from the left neighbour
  void* sender = nullptr;        // DEALER: chunks to the right neighbour
  void* listener_mon = nullptr;  // PAIR ends of the two socket monitors
  void* sender_mon = nullptr;
  std::string listen_endpoint;
  int rank = -1;
  int world = 0;
  std::vector<std::string> endpoints;
  std::string left_id;  // the left neighbour's routing identity on `listener`
  int left_fd = -1;     // its connection (-1: unknown)
  bool connected = false;
  bool left_gone = false, right_gone = false;
  bool right_retrying = false;  // connect attempts to the right neighbour failed
  Clock::time_point left_gone_at{};
  std::string broken;  // the first error; later calls repeat it
  InFlight* inflight = new InFlight;
  WireCounters wire;  // what went to and came from the neighbours

  // Shared memory with same-host neighbours (shm_link.h).
  std::string host_id;                // same_host_id(), empty when not offered
  std::unique_ptr<ShmLink> in_link;   // offered to the left neighbour
  std::unique_ptr<ShmLink> out_link;  // the right neighbour's, once attached
  enum class InPath { kUndecided, kShm, kTcp, kStream } in_path = InPath::kTcp;
  // Chunks for out_link not yet in a slot, in order; they reference the
  // caller's payload, which stays valid until flush() (RingTransport::send).
  struct Pending {
    ShmLink::SlotHeader slot;
    std::span<const std::byte> payload;
  };
  std::deque<Pending> pending;
  bool descriptors_out = false;    // out_link holds descriptors of the caller's buffers
  std::vector<std::byte> staging;  // a chunk read from the left neighbour's memory

  // A TCP connection of our own for chunks (tcp_stream.h), either way.
  std::unique_ptr<TcpStreamListener> stream_listener;  // during the handshake
  std::unique_ptr<TcpStream> in_stream, out_stream;

  // zmq_send of one frame that a neighbour will receive (not a routing id),
  // counted when ZeroMQ took it.
  int send_frame(void* socket, const void* data, size_t size, int flags) {
    const int rc = zmq_send(socket, data, size, flags);
    if (rc != -1) wire.count_sent(size);
    return rc;
  }
  // read_message, counted; the listener's first part is the routing id.
  bool read(void* socket, Multipart& out) {
    return read_message(socket, out, &wire, socket == listener ? 1 : 0);
  }

  int left() const { return (rank + world - 1) % world; }
  int right() const { return (rank + 1) % world; }
  std::string peer(int r) const { return "rank " + std::to_string(r) + " (" + endpoints[r] + ")"; }

  [[noreturn]] void fail(const std::string& what, int peer_rank) {
    std::string msg = "ring rank " + std::to_string(rank) + ": " + what;
    broken = msg;
    pending.clear();                   // the caller's buffers are no longer ours
    if (out_link) out_link->revoke();  // nor may the right neighbour read them
    if (out_stream) out_stream->drop_queue();
    send_aborts(msg);
    close_sockets();  // drops queued chunks: ZeroMQ lets go of the caller's buffers
    throw CommError(msg, peer_rank, peer_rank >= 0 ? endpoints[peer_rank] : std::string());
  }

  // Best effort: tells both neighbours why this rank gives up, so that they
  // report the cause rather than only its disconnect. The sockets linger a
  // little so the abort can leave.
  void send_aborts(const std::string& reason) {
    if (!connected || world < 2) return;
    wire::Header h;
    h.kind = static_cast<uint16_t>(wire::Kind::kAbort);
    h.from_rank = static_cast<uint32_t>(rank);
    h.world = static_cast<uint32_t>(world);
    const std::string text = reason.substr(0, 1000);
    h.bytes = text.size();
    const std::string hf = wire::encode(h);
    const int linger = 200;
    if (sender && send_frame(sender, hf.data(), hf.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1) {
      send_frame(sender, text.data(), text.size(), ZMQ_DONTWAIT);
      // Linger only when no chunk of the caller's is queued ahead of the abort:
      // ZeroMQ would hold those buffers for the linger (longer if the peer is gone).
      if (inflight->pending() == 0) set_int(sender, ZMQ_LINGER, linger);
    }
    if (listener && !left_id.empty() &&
        zmq_send(listener, left_id.data(), left_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1) {
      send_frame(listener, hf.data(), hf.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT);
      send_frame(listener, text.data(), text.size(), ZMQ_DONTWAIT);
      set_int(listener, ZMQ_LINGER, linger);
    }
  }

  // After the handshake only aborts come back on `sender`: throws on one.
  void check_right_abort() {
    if (sender == nullptr || !connected) return;
    Multipart m;
    if (!read(sender, m)) return;
    const auto h = wire::decode(m.msg[0].data(), m.msg[0].size());
    if (h && h->kind == static_cast<uint16_t>(wire::Kind::kAbort) && m.parts == 2)
      fail("right neighbour " + peer(right()) + " gave up: " +
               std::string(reinterpret_cast<const char*>(m.msg[1].data()), m.msg[1].size()),
           right());
    fail("unexpected message (" + std::to_string(m.parts) + " frames) from right neighbour " +
             peer(right()),
         right());
  }

  // The run was cancelled (options.cancel): gives up, telling both neighbours.
  void check_cancelled() {
    if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed))
      fail(connected ? "cancelled in a collective" : "cancelled during the handshake", -1);
  }

  void check_usable() {
    if (!broken.empty())
      throw CommError("ring rank " + std::to_string(rank) +
                      ": transport broken by an earlier error: " + broken);
    RM_CHECK(connected, "ZmqRingTransport: connect() before use");
    RM_CHECK(world > 1, "ZmqRingTransport: a world of 1 has no neighbours to talk to");
  }

  void* monitor(void* socket, int events) {
    static std::atomic<uint64_t> next{0};
    const std::string addr = "inproc://ring-monitor-" + std::to_string(next++);
    ZMQ_CHECK(zmq_socket_monitor(socket, addr.c_str(), events));
    void* pair = zmq_socket(ctx, ZMQ_PAIR);
    RM_CHECK(pair != nullptr, "zmq_socket(PAIR): ", zmq_strerror(zmq_errno()));
    set_int(pair, ZMQ_LINGER, 0);
    ZMQ_CHECK(zmq_connect(pair, addr.c_str()));
    return pair;
  }

  // Reads every pending monitor event into the *_gone flags.
  void drain_monitors() {
    for (void* mon : {listener_mon, sender_mon}) {
      if (mon == nullptr) continue;
      for (int i = 0; i < 1000; ++i) {  // bounded: events are few
        Multipart ev;
        if (!read_message(mon, ev)) break;
        if (ev.msg[0].size() < 6) continue;
        uint16_t event;
        uint32_t value;
        std::memcpy(&event, ev.msg[0].data(), 2);
        std::memcpy(&value, ev.msg[0].data() + 2, 4);
        if (mon == sender_mon) {
          if (event == ZMQ_EVENT_DISCONNECTED) right_gone = true;
          if (event == ZMQ_EVENT_CONNECT_RETRIED) right_retrying = true;
          if (event == ZMQ_EVENT_CONNECTED) right_retrying = false;
        } else if (event == ZMQ_EVENT_DISCONNECTED && !left_id.empty() &&
                   (left_fd < 0 || static_cast<int>(value) == left_fd) && !left_gone) {
          left_gone = true;
          left_gone_at = Clock::now();
        }
      }
    }
  }

  void close_sockets() {
    // A healthy ring may still hold a handshake frame for a neighbour that
    // is finishing its connect() (a rank whose collective had nothing to send
    // closes at once); those frames are copies, so they may outlive us for a
    // moment. Zero-copy chunks never do: none is in flight here.
    if (broken.empty() && inflight->pending() == 0)
      for (void* s : {listener, sender})
        if (s != nullptr) set_int(s, ZMQ_LINGER, 500);
    for (void** s : {&listener_mon, &sender_mon, &listener, &sender}) {
      if (*s != nullptr) ZMQ_CHECK(zmq_close(*s));
      *s = nullptr;
    }
    connected = false;
    stream_listener.reset();
    if (out_stream) out_stream->drop_queue();
    in_stream.reset();
    out_stream.reset();
    // ZeroMQ releases dropped payloads on its I/O thread, shortly.
    inflight->wait_zero_until(Clock::now() + kReleaseWait);
  }

  // Waits until `socket` has `events` (POLLIN / POLLOUT), watching the
  // monitors. Returns false at the deadline or when a neighbour is gone
  // (the caller tells which).
  bool wait_for(void* socket, short events, Clock::time_point deadline) {
    Clock::time_point right_gone_at{};
    const bool on_sender = socket == sender;
    for (;;) {
      // Also watch `sender` for an abort from the right neighbour.
      zmq_pollitem_t items[5];
      int k = 0;
      items[k++] = {socket, 0, static_cast<short>(events | (on_sender ? ZMQ_POLLIN : 0)), 0};
      items[k++] = {listener_mon, 0, ZMQ_POLLIN, 0};
      if (sender_mon) items[k++] = {sender_mon, 0, ZMQ_POLLIN, 0};
      int sender_item = on_sender ? 0 : -1;
      if (!on_sender && sender) {
        sender_item = k;
        items[k++] = {sender, 0, ZMQ_POLLIN, 0};
      }
      // Our chunks to the right go on while we wait for the left.
      if (out_stream && out_stream->has_queued())
        items[k++] = {nullptr, out_stream->fd(), ZMQ_POLLOUT, 0};
      const long ms =
          poll_ms(deadline, left_gone || right_gone ? milliseconds(20) : milliseconds(1000));
      const int n = zmq_poll(items, k, ms);
      if (n == -1 && zmq_errno() != EINTR) ZMQ_CHECK(-1);
      if (n > 0 && sender_item >= 0 && (items[sender_item].revents & ZMQ_POLLIN))
        check_right_abort();
      check_cancelled();
      progress_stream();
      if (n > 0 && (items[0].revents & events)) return true;
      if (n > 0) drain_monitors();
      if (right_gone && right_gone_at == Clock::time_point{}) right_gone_at = Clock::now();
      if (on_sender && right_gone && Clock::now() - right_gone_at > kDisconnectGrace) {
        check_right_abort();
        return false;
      }
      if (socket == listener && left_gone && Clock::now() - left_gone_at > kDisconnectGrace)
        return false;
      if (Clock::now() >= deadline) return false;
    }
  }

  std::string waited_ms(Clock::time_point since) const {
    return std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count()) +
           " ms";
  }

  void handshake(milliseconds timeout);
  void open_sender();
  void queue_hello(const wire::Header& hello);
  void answer_hello(Multipart& m, const wire::Header& hello, Clock::time_point deadline);
  void take_welcome(Multipart& m, Clock::time_point deadline);

  // Listener side of the handshake: a hello whose host id (its third part)
  // is ours gets a segment; returns the offer for the welcome, or "".
  std::string offer_shared_memory(Multipart& hello) {
    if (host_id.empty() || hello.parts < 3) return "";
    const std::string theirs(reinterpret_cast<const char*>(hello.msg[2].data()),
                             hello.msg[2].size());
    if (theirs != host_id) return "";
    try {
      in_link = ShmLink::create(options.shm_slots, options.shm_slot_bytes);
    } catch (const std::exception&) {
      return "";  // no memfd here: chunks come over TCP
    }
    in_path = InPath::kUndecided;
    return in_link->offer().encode();
  }
  // Sender side: maps the right neighbour's segment when it offered one.
  // Failing that, chunks go over TCP, which the receiver also accepts.
  void attach_shared_memory(const std::byte* data, size_t size) {
    ShmOffer offer;
    if (host_id.empty() || !ShmOffer::decode(data, size, offer)) return;
    std::string why;
    out_link = ShmLink::attach(offer, why);
    if (out_link) out_link->mark_attached();
  }

  // Whether the first pending chunk goes as a descriptor (the right
  // neighbour reads it from our memory) rather than copied into a slot.
  bool next_is_descriptor() const {
    const Pending& p = pending.front();
    return p.slot.part_offset == 0 && !p.payload.empty() && out_link->peer_reads_memory();
  }

  // Moves pending chunks into free slots of out_link, in order; true when
  // none is left.
  bool pump() {
    while (!pending.empty()) {
      Pending& p = pending.front();
      if (next_is_descriptor()) {
        // A descriptor: the right neighbour reads the chunk from our buffer.
        p.slot.part_bytes = p.payload.size();
        p.slot.remote_address = reinterpret_cast<uint64_t>(p.payload.data());
        if (!out_link->put(p.slot, {})) return false;
        wire.count_sent(sizeof(ShmLink::SlotHeader));
        wire.count_sent(p.payload.size());
        descriptors_out = true;
        pending.pop_front();
        continue;
      }
      const uint64_t at = p.slot.part_offset;
      const uint64_t part = std::min<uint64_t>(out_link->slot_bytes(), p.payload.size() - at);
      p.slot.part_bytes = part;
      if (!out_link->put(p.slot, p.payload.subspan(at, part))) return false;
      wire.count_sent(sizeof(ShmLink::SlotHeader));
      if (part > 0) wire.count_sent(part);
      p.slot.part_offset = at + part;
      if (p.slot.part_offset >= p.payload.size()) pending.pop_front();
    }
    return true;
  }

  // A message on the listener, by either path: fails on one from a foreign
  // connection or on the left neighbour's abort; else returns its header
  // (nullopt: not a ring header).
  std::optional<wire::Header> reject_foreign_or_abort(Multipart& m, const ChunkHeader& expected) {
    const std::string left_name = "left neighbour " + peer(left());
    const std::string from(reinterpret_cast<const char*>(m.msg[0].data()), m.msg[0].size());
    if (from != left_id)
      fail("foreign message from connection '" + printable(m.msg[0].data(), m.msg[0].size()) +
               "' at " + source_address(&m.msg[m.parts > 1 ? 1 : 0].m) + " on " + listen_endpoint +
               " while waiting for " + describe(expected) + " from " + left_name,
           -1);
    const auto h = m.parts >= 2 ? wire::decode(m.msg[1].data(), m.msg[1].size()) : std::nullopt;
    if (h && h->kind == static_cast<uint16_t>(wire::Kind::kAbort) && m.parts == 3)
      fail(left_name + " gave up: " +
               std::string(reinterpret_cast<const char*>(m.msg[2].data()), m.msg[2].size()),
           left());
    return h;
  }

  // The chunk header `h` (from the left neighbour, by either path) against
  // what the caller expects; fails naming the left neighbour.
  ChunkHeader check_chunk(const wire::Header& h, const ChunkHeader& expected) {
    const std::string left_name = "left neighbour " + peer(left());
    ChunkHeader got;
    got.collective = h.collective;
    got.bucket = h.bucket;
    got.step = h.step;
    got.piece = h.piece;
    got.codec = static_cast<Codec>(h.codec);
    got.bytes = h.bytes;
    got.scale = h.scale;
    if (h.from_rank != static_cast<uint32_t>(left()) || h.world != static_cast<uint32_t>(world))
      fail(left_name + " sent a chunk as rank " + std::to_string(h.from_rank) + " of " +
               std::to_string(h.world),
           left());
    if (got.collective != expected.collective || got.bucket != expected.bucket ||
        got.step != expected.step || got.piece != expected.piece || got.codec != expected.codec ||
        got.bytes != expected.bytes)
      fail("out-of-step " + describe(got) + " from " + left_name + ", expected " +
               describe(expected) +
               " (do all ranks reduce the same buckets in the same order, with the same options?)",
           left());
    return got;
  }

  // The shared-memory and stream receives hand the payload to `consume`,
  // or (consume null) put it into `dst`; `got` is the chunk's header.
  bool receive_shared(const ChunkHeader& expected, const Consumer* consume,
                      std::span<std::byte> dst, Clock::time_point deadline, ChunkHeader& got);
  bool next_slot(const ChunkHeader& expected, Clock::time_point deadline, ShmLink::SlotHeader& slot,
                 std::span<const std::byte>& part);
  void flush_shared(Clock::time_point deadline);

  // The TCP stream (tcp_stream.h).
  std::string take_stream(Multipart& hello, Clock::time_point deadline);
  void progress_stream();
  [[noreturn]] void stream_write_failed(const std::string& while_doing);
  ChunkHeader receive_stream(const ChunkHeader& expected, const Consumer* consume,
                             std::span<std::byte> dst, Clock::time_point deadline);
  void flush_stream(Clock::time_point deadline);
};

ZmqRingTransport::ZmqRingTransport(ZmqRingOptions options) : impl_(std::make_unique<Impl>()) {
  RM_THROW_IF(!options.curve_secret_key.empty() &&
                  (!is_z85_key(options.curve_secret_key) || !is_z85_key(options.curve_public_key)),
              "the ring's CURVE keys must be 40 Z85 characters each");
  impl_->options = options;
  keep_large_blocks_on_heap();
}

ZmqRingTransport::~ZmqRingTransport() {
  impl_->close_sockets();
  if (impl_->inflight->pending() != 0) {
    // ZeroMQ may still call release(): keep its target alive (leaked on purpose).
    impl_->inflight = nullptr;
  } else {
    delete impl_->inflight;
  }
}

std::string ZmqRingTransport::listen(Context& ctx, const std::string& host) {
  Impl& d = *impl_;
  RM_CHECK(d.listener == nullptr, "ZmqRingTransport::listen called twice");
  d.ctx = ctx.raw();
  d.listener = zmq_socket(d.ctx, ZMQ_ROUTER);
  if (d.listener == nullptr)
    throw TransportError(std::string("zmq_socket: ") + zmq_strerror(zmq_errno()));
  set_int(d.listener, ZMQ_LINGER, 0);
  const int64_t max_size = std::max<int64_t>(d.options.max_payload_bytes, sizeof(wire::Header));
  ZMQ_CHECK(zmq_setsockopt(d.listener, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size));
  set_int(d.listener, ZMQ_RCVHWM, d.options.high_water_mark);
  set_int(d.listener, ZMQ_SNDHWM, 16);
  set_int(d.listener, ZMQ_ROUTER_MANDATORY, 1);
  if (d.options.socket_buffer_bytes > 0) {
    set_int(d.listener, ZMQ_RCVBUF, d.options.socket_buffer_bytes);
    set_int(d.listener, ZMQ_SNDBUF, d.options.socket_buffer_bytes);
  }
  if (!d.options.curve_secret_key.empty()) {
    set_int(d.listener, ZMQ_CURVE_SERVER, 1);
    set_key(d.listener, ZMQ_CURVE_SECRETKEY, d.options.curve_secret_key);
    const std::string domain = "ring";
    ZMQ_CHECK(zmq_setsockopt(d.listener, ZMQ_ZAP_DOMAIN, domain.data(), domain.size()));
  }
  d.listener_mon = d.monitor(d.listener, ZMQ_EVENT_DISCONNECTED);
  const std::string ep = "tcp://" + host + ":*";
  if (zmq_bind(d.listener, ep.c_str()) == -1)
    throw TransportError("cannot bind " + ep + ": " + zmq_strerror(zmq_errno()));
  char buf[256];
  size_t len = sizeof buf;
  ZMQ_CHECK(zmq_getsockopt(d.listener, ZMQ_LAST_ENDPOINT, buf, &len));
  d.listen_endpoint.assign(buf, len > 0 ? len - 1 : 0);
  return d.listen_endpoint;
}

void ZmqRingTransport::connect(int rank, const std::vector<std::string>& endpoints,
                               milliseconds timeout) {
  Impl& d = *impl_;
  RM_CHECK(d.listener != nullptr, "ZmqRingTransport: listen() before connect()");
  RM_CHECK(!d.connected && d.broken.empty(), "ZmqRingTransport::connect called twice");
  RM_CHECK(!endpoints.empty() && rank >= 0 && rank < static_cast<int>(endpoints.size()),
           "ZmqRingTransport::connect: rank ", rank, " of ", endpoints.size(), " endpoints");
  d.rank = rank;
  d.world = static_cast<int>(endpoints.size());
  d.endpoints = endpoints;
  if (d.world == 1) {
    d.connected = true;
    return;
  }
  d.handshake(timeout);
}

// The DEALER to the right neighbour: its options, its monitor, its connection.
void ZmqRingTransport::Impl::open_sender() {
  sender = zmq_socket(ctx, ZMQ_DEALER);
  RM_CHECK(sender != nullptr, "zmq_socket(DEALER): ", zmq_strerror(zmq_errno()));
  set_int(sender, ZMQ_LINGER, 0);
  const std::string id = wire::identity(rank);
  ZMQ_CHECK(zmq_setsockopt(sender, ZMQ_ROUTING_ID, id.data(), id.size()));
  // Only welcomes come back (a header, and maybe a shared-memory offer of
  // under 200 bytes); CURVE's handshake commands (WELCOME, READY with
  // metadata) pass through the same limit and are larger.
  const int64_t max_in = options.curve_secret_key.empty() ? int64_t{256} : int64_t{4096};
  ZMQ_CHECK(zmq_setsockopt(sender, ZMQ_MAXMSGSIZE, &max_in, sizeof max_in));
  set_int(sender, ZMQ_SNDHWM, options.high_water_mark);
  set_int(sender, ZMQ_RECONNECT_IVL, 100);
  if (!options.curve_secret_key.empty()) {
    set_key(sender, ZMQ_CURVE_SERVERKEY, options.curve_public_key);
    set_key(sender, ZMQ_CURVE_PUBLICKEY, options.curve_public_key);
    set_key(sender, ZMQ_CURVE_SECRETKEY, options.curve_secret_key);
  }
  if (options.socket_buffer_bytes > 0) {
    set_int(sender, ZMQ_SNDBUF, options.socket_buffer_bytes);
    set_int(sender, ZMQ_RCVBUF, options.socket_buffer_bytes);
  }
  sender_mon =
      monitor(sender, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED);
  if (zmq_connect(sender, endpoints[right()].c_str()) == -1)
    fail("cannot connect to right neighbour " + peer(right()) + ": " + zmq_strerror(zmq_errno()),
         right());
}

// Queues the hello for the right neighbour; the host id follows when this
// rank would take shared memory, then the offer of a TCP stream (the host id
// frame empty when only that is offered).
void ZmqRingTransport::Impl::queue_hello(const wire::Header& hello) {
  const std::string hello_frame = wire::encode(hello);
  if (shared_memory_allowed(options)) host_id = same_host_id();
  if (tcp_stream_allowed(options)) stream_listener = TcpStreamListener::open(listen_endpoint);
  const std::string stream_offer = stream_listener ? stream_listener->offer().encode() : "";
  const int more = host_id.empty() && stream_offer.empty() ? 0 : ZMQ_SNDMORE;
  const int more2 = stream_offer.empty() ? 0 : ZMQ_SNDMORE;
  if (send_frame(sender, hello_frame.data(), hello_frame.size(), ZMQ_DONTWAIT | more) == -1 ||
      (more && send_frame(sender, host_id.data(), host_id.size(), ZMQ_DONTWAIT | more2) == -1) ||
      (more2 && send_frame(sender, stream_offer.data(), stream_offer.size(), ZMQ_DONTWAIT) == -1))
    fail("cannot queue the handshake for right neighbour " + peer(right()) + ": " +
             zmq_strerror(zmq_errno()),
         right());
}

// The first message on the listener, which must be the left neighbour's
// hello: answered with a welcome (carrying a shared-memory offer, or word
// that its stream was taken, when there is one). Anything else fails the
// handshake naming it; a hello of another generation is answered first, so
// that its rank names the mismatch too.
void ZmqRingTransport::Impl::answer_hello(Multipart& m, const wire::Header& hello,
                                          Clock::time_point deadline) {
  const std::string from(reinterpret_cast<const char*>(m.msg[0].data()), m.msg[0].size());
  const auto h = m.parts >= 2 && m.parts <= kMaxParts
                     ? wire::decode(m.msg[1].data(), m.msg[1].size())
                     : std::nullopt;
  const std::string who = "connection '" + printable(m.msg[0].data(), m.msg[0].size()) + "' from " +
                          source_address(&m.msg[m.parts > 1 ? 1 : 0].m);
  if (!h || h->kind != static_cast<uint16_t>(wire::Kind::kHello))
    fail("handshake: unexpected message (" + std::to_string(m.parts) + " frames, first " +
             std::to_string(m.parts > 1 ? m.msg[1].size() : 0) + " bytes) from " + who + " on " +
             listen_endpoint + "; expected a hello from left neighbour " + peer(left()),
         left());
  if (h->collective != options.generation) {
    wire::Header own = hello;
    own.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
    own.to_rank = h->from_rank;
    const std::string of = wire::encode(own);
    if (zmq_send(listener, from.data(), from.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1 &&
        send_frame(listener, of.data(), of.size(), ZMQ_DONTWAIT) != -1)
      set_int(listener, ZMQ_LINGER, 200);
    fail("handshake: hello from " + who + " is of generation " + std::to_string(h->collective) +
             ", this ring's is " + std::to_string(options.generation) +
             " (a rank of an earlier world?)",
         left());
  }
  if (h->from_rank != static_cast<uint32_t>(left()) || h->world != static_cast<uint32_t>(world) ||
      h->to_rank != static_cast<uint32_t>(rank))
    fail("handshake: hello from " + who + " says it is rank " + std::to_string(h->from_rank) +
             " of " + std::to_string(h->world) + " talking to rank " + std::to_string(h->to_rank) +
             "; expected left neighbour " + peer(left()) + " of " + std::to_string(world) +
             " (do all ranks have the same endpoint list?)",
         left());
  left_id = from;
  left_fd = zmq_msg_get(&m.msg[1].m, ZMQ_SRCFD);
  wire::Header welcome = hello;
  welcome.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
  welcome.to_rank = static_cast<uint32_t>(left());
  const std::string wf = wire::encode(welcome);
  std::string offer = offer_shared_memory(m);
  if (offer.empty()) offer = take_stream(m, deadline);
  const int more = offer.empty() ? 0 : ZMQ_SNDMORE;
  if (zmq_send(listener, left_id.data(), left_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1 ||
      send_frame(listener, wf.data(), wf.size(), ZMQ_DONTWAIT | more) == -1 ||
      (more && send_frame(listener, offer.data(), offer.size(), ZMQ_DONTWAIT) == -1))
    fail("handshake: cannot answer left neighbour " + peer(left()) + ": " +
             zmq_strerror(zmq_errno()),
         left());
}

// The right neighbour's welcome: checked, then the shared memory it offers
// or the stream it took.
void ZmqRingTransport::Impl::take_welcome(Multipart& m, Clock::time_point deadline) {
  const auto h =
      m.parts == 1 || m.parts == 2 ? wire::decode(m.msg[0].data(), m.msg[0].size()) : std::nullopt;
  if (!h || h->kind != static_cast<uint16_t>(wire::Kind::kWelcome) ||
      h->from_rank != static_cast<uint32_t>(right()) || h->world != static_cast<uint32_t>(world) ||
      h->to_rank != static_cast<uint32_t>(rank) || h->collective != options.generation)
    fail("handshake: the peer at " + endpoints[right()] + " is not right neighbour rank " +
             std::to_string(right()) + " of " + std::to_string(world) + ", generation " +
             std::to_string(options.generation) + " (its answer: " +
             (h ? "rank " + std::to_string(h->from_rank) + " of " + std::to_string(h->world) +
                      ", generation " + std::to_string(h->collective)
                : std::string("not a ring welcome")) +
             ")",
         right());
  if (m.parts == 2 && std::string_view(reinterpret_cast<const char*>(m.msg[1].data()),
                                       m.msg[1].size()) == kStreamTaken) {
    // The right neighbour connected to our stream before it answered.
    if (stream_listener)
      out_stream = stream_listener->accept(options.socket_buffer_bytes, deadline);
    if (!out_stream)
      fail("handshake: right neighbour " + peer(right()) +
               " says it connected to our TCP stream, but no connection with our cookie arrived",
           right());
    wire.count_received(kStreamCookieBytes);
  } else if (m.parts == 2) {
    attach_shared_memory(m.msg[1].data(), m.msg[1].size());
  }
}

void ZmqRingTransport::Impl::handshake(milliseconds timeout) {
  const auto start = Clock::now(), deadline = start + timeout;
  open_sender();
  // hello -> right neighbour; <- hello from the left one, answered with a welcome.
  wire::Header hello;
  hello.kind = static_cast<uint16_t>(wire::Kind::kHello);
  hello.from_rank = static_cast<uint32_t>(rank);
  hello.world = static_cast<uint32_t>(world);
  hello.to_rank = static_cast<uint32_t>(right());
  hello.collective = options.generation;  // hello / welcome: the generation
  queue_hello(hello);

  bool got_hello = false, got_welcome = false;
  Clock::time_point right_gone_at{};
  while (!(got_hello && got_welcome)) {
    // Once the left neighbour is known, its chunks may follow its hello: leave them queued.
    zmq_pollitem_t items[4] = {{sender, 0, ZMQ_POLLIN, 0},
                               {listener_mon, 0, ZMQ_POLLIN, 0},
                               {sender_mon, 0, ZMQ_POLLIN, 0},
                               {listener, 0, ZMQ_POLLIN, 0}};
    const int n = zmq_poll(items, got_hello ? 3 : 4, poll_ms(deadline, milliseconds(1000)));
    if (n == -1 && zmq_errno() != EINTR) ZMQ_CHECK(-1);
    if (n > 0) drain_monitors();
    check_cancelled();
    // A right neighbour that answered and left (its own collective had
    // nothing to send) is fine; one gone without a welcome, after a grace for
    // the welcome still on its way, is not.
    if (right_gone && !got_welcome) {
      if (right_gone_at == Clock::time_point{}) right_gone_at = Clock::now();
      if (Clock::now() - right_gone_at > kDisconnectGrace && !(items[0].revents & ZMQ_POLLIN))
        fail("right neighbour " + peer(right()) + " disconnected during the handshake", right());
    }
    if (!got_hello && n > 0 && (items[3].revents & ZMQ_POLLIN)) {
      Multipart m;
      if (read(listener, m)) {
        answer_hello(m, hello, deadline);
        got_hello = true;
      }
    }
    if (!got_welcome && n > 0 && (items[0].revents & ZMQ_POLLIN)) {
      Multipart m;
      if (read(sender, m)) {
        take_welcome(m, deadline);
        got_welcome = true;
      }
    }
    if (Clock::now() >= deadline && !(got_hello && got_welcome)) {
      if (!got_welcome)
        fail("handshake: no answer from right neighbour " + peer(right()) + " within " +
                 waited_ms(start) + (right_retrying ? " (connection refused, retrying)" : ""),
             right());
      fail(
          "handshake: no hello from left neighbour " + peer(left()) + " within " + waited_ms(start),
          left());
    }
  }
  stream_listener.reset();  // the stream, if any, is taken
  connected = true;
}

int ZmqRingTransport::rank() const { return impl_->rank; }
int ZmqRingTransport::world() const { return impl_->world; }
size_t ZmqRingTransport::max_payload_bytes() const {
  return static_cast<size_t>(impl_->options.max_payload_bytes);
}

void ZmqRingTransport::send(const ChunkHeader& header, std::span<const std::byte> payload,
                            Clock::time_point deadline) {
  Impl& d = *impl_;
  d.check_usable();
  RM_CHECK(payload.size() == header.bytes, "send: payload of ", payload.size(),
           " bytes, header says ", header.bytes);
  if (d.right_gone) {  // seen by an earlier wait: queuing more would only pile up
    d.check_right_abort();
    d.fail("right neighbour " + d.peer(d.right()) + " disconnected before " + describe(header),
           d.right());
  }
  if (d.out_link) {
    d.pending.push_back({{wire::chunk(d.rank, d.world, header), 0, 0}, payload});
    d.pump();
    return;
  }
  if (d.out_stream) {
    d.out_stream->queue(wire::chunk(d.rank, d.world, header), payload);
    d.progress_stream();
    return;
  }
  const auto start = Clock::now();
  const std::string frame = wire::encode(wire::chunk(d.rank, d.world, header));
  for (;;) {
    if (d.send_frame(d.sender, frame.data(), frame.size(),
                     ZMQ_DONTWAIT | (payload.empty() ? 0 : ZMQ_SNDMORE)) != -1)
      break;
    if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) ZMQ_CHECK(-1);
    if (!d.wait_for(d.sender, ZMQ_POLLOUT, deadline)) {
      if (d.right_gone)
        d.fail("right neighbour " + d.peer(d.right()) + " disconnected while sending " +
                   describe(header),
               d.right());
      d.fail("right neighbour " + d.peer(d.right()) + " accepted nothing for " +
                 d.waited_ms(start) + " while sending " + describe(header),
             d.right());
    }
  }
  if (payload.empty()) return;
  // A copy that ZeroMQ owns: a failed collective may return (and its caller
  // free the buffer) while ZeroMQ still holds or writes queued chunks.
  void* copy = std::malloc(payload.size());
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, payload.data(), payload.size());
  zmq_msg_t m;
  d.inflight->add();
  if (zmq_msg_init_data(&m, copy, payload.size(), release, d.inflight) == -1) {
    release(copy, d.inflight);
    ZMQ_CHECK(-1);
  }
  // The rest of a multipart message is never refused once its first part was taken.
  if (zmq_msg_send(&m, d.sender, ZMQ_DONTWAIT) == -1) {
    const int e = zmq_errno();
    ZMQ_CHECK(zmq_msg_close(&m));
    d.fail(std::string("cannot queue the payload for right neighbour ") + d.peer(d.right()) + ": " +
               zmq_strerror(e),
           d.right());
  }
  d.wire.count_sent(payload.size());
}

void ZmqRingTransport::receive(const ChunkHeader& expected, const Consumer& consume,
                               Clock::time_point deadline) {
  Impl& d = *impl_;
  d.check_usable();
  if (d.in_path == Impl::InPath::kStream) {
    d.receive_stream(expected, &consume, {}, deadline);
    return;
  }
  ChunkHeader shared;
  if (d.in_path != Impl::InPath::kTcp && d.receive_shared(expected, &consume, {}, deadline, shared))
    return;
  const auto start = Clock::now();
  const std::string left = "left neighbour " + d.peer(d.left());
  Multipart m;
  while (!d.read(d.listener, m)) {
    if (!d.wait_for(d.listener, ZMQ_POLLIN, deadline)) {
      if (d.left_gone)
        d.fail(left + " disconnected while waiting for " + describe(expected), d.left());
      d.fail("no " + describe(expected) + " from " + left + " within " + d.waited_ms(start) +
                 " (it, or a rank before it, is dead or stalled)",
             d.left());
    }
  }
  const auto h = d.reject_foreign_or_abort(m, expected);
  if (!h || h->kind != static_cast<uint16_t>(wire::Kind::kChunk) || m.parts > 3)
    d.fail("malformed message from " + left + " (" + std::to_string(m.parts - 1) +
               " frame(s), header " + std::to_string(m.parts >= 2 ? m.msg[1].size() : 0) +
               " bytes, want a " + std::to_string(sizeof(wire::Header)) +
               "-byte chunk header and one payload frame) while waiting for " + describe(expected),
           d.left());
  const ChunkHeader got = d.check_chunk(*h, expected);
  const size_t payload_size = m.parts == 3 ? m.msg[2].size() : 0;
  if (payload_size != got.bytes)
    d.fail("truncated " + describe(got) + " from " + left + ": the payload frame has " +
               std::to_string(payload_size) + " bytes",
           d.left());
  consume(got, std::span<const std::byte>(m.parts == 3 ? m.msg[2].data() : nullptr, payload_size));
}

ChunkHeader ZmqRingTransport::receive_into(const ChunkHeader& expected, std::span<std::byte> dst,
                                           Clock::time_point deadline) {
  Impl& d = *impl_;
  d.check_usable();
  RM_CHECK(dst.size() == expected.bytes, "receive_into: a buffer of ", dst.size(),
           " bytes for a chunk of ", expected.bytes);
  if (d.in_path == Impl::InPath::kStream) return d.receive_stream(expected, nullptr, dst, deadline);
  ChunkHeader got;
  if (d.in_path != Impl::InPath::kTcp && d.receive_shared(expected, nullptr, dst, deadline, got))
    return got;
  return RingTransport::receive_into(expected, dst, deadline);  // ZeroMQ's message, copied
}

void ZmqRingTransport::flush(Clock::time_point deadline) {
  Impl& d = *impl_;
  d.check_usable();
  if (d.out_link) {
    d.flush_shared(deadline);
    return;
  }
  if (d.out_stream) {
    d.flush_stream(deadline);
    return;
  }
  const auto start = Clock::now();
  Clock::time_point right_gone_at{};
  for (;;) {
    if (d.inflight->wait_zero_until(std::min(deadline, Clock::now() + milliseconds(5)))) return;
    d.drain_monitors();
    d.check_right_abort();
    d.check_cancelled();
    if (d.right_gone && right_gone_at == Clock::time_point{}) right_gone_at = Clock::now();
    if (d.right_gone && Clock::now() - right_gone_at > kDisconnectGrace)
      d.fail("right neighbour " + d.peer(d.right()) + " disconnected before taking " +
                 std::to_string(d.inflight->pending()) + " queued chunk(s)",
             d.right());
    if (Clock::now() >= deadline)
      d.fail("right neighbour " + d.peer(d.right()) + " did not take " +
                 std::to_string(d.inflight->pending()) + " queued chunk(s) within " +
                 d.waited_ms(start),
             d.right());
  }
}

WireCounters ZmqRingTransport::counters() const { return impl_->wire; }

bool ZmqRingTransport::sends_over_shared_memory() const { return impl_->out_link != nullptr; }
bool ZmqRingTransport::receives_over_shared_memory() const {
  return impl_->in_path == Impl::InPath::kShm;
}
bool ZmqRingTransport::reads_left_neighbours_memory() const {
  return impl_->in_link && impl_->in_link->peer_reads_memory();
}

// Waits for the left neighbour's next slot. False when, before the link was
// known to be used, a message came over TCP instead (the caller reads it).
bool ZmqRingTransport::Impl::next_slot(const ChunkHeader& expected, Clock::time_point deadline,
                                       ShmLink::SlotHeader& slot,
                                       std::span<const std::byte>& part) {
  const auto start = Clock::now();
  for (;;) {
    if (in_path == InPath::kUndecided && in_link->attached()) {
      in_path = InPath::kShm;
      if (options.cross_memory_attach) in_link->probe_peer();  // may we read its memory?
    }
    // The TCP side first, every time: an abort or a foreign message is seen
    // at the next chunk, not only once the slots run dry.
    zmq_pollitem_t item{listener, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 0) > 0) {
      if (in_path == InPath::kUndecided) {
        in_path = InPath::kTcp;  // the left neighbour did not attach
        return false;
      }
      // Over TCP now only an abort may come; anything else is a protocol error.
      Multipart m;
      if (read(listener, m)) {
        reject_foreign_or_abort(m, expected);
        fail("unexpected message over TCP (" + std::to_string(m.parts - 1) +
                 " frame(s)) from left neighbour " + peer(left()) +
                 ", whose chunks come through shared memory",
             left());
      }
    }
    if (in_path == InPath::kShm && in_link->peek(slot, part)) return true;
    pump();  // ours to the right may wait for slots meanwhile
    progress_stream();
    drain_monitors();
    check_right_abort();
    check_cancelled();
    if (left_gone && Clock::now() - left_gone_at > kDisconnectGrace)
      fail("left neighbour " + peer(left()) + " disconnected while waiting for " +
               describe(expected),
           left());
    const auto now = Clock::now();
    if (now >= deadline)
      fail("no " + describe(expected) + " from left neighbour " + peer(left()) + " within " +
               waited_ms(start) + " (it, or a rank before it, is dead or stalled)",
           left());
    const bool ours_waiting = !pending.empty() || (out_stream && out_stream->has_queued());
    const auto slice = !ours_waiting
                           ? std::chrono::duration_cast<Clock::duration>(kShmSlice)
                           : std::chrono::duration_cast<Clock::duration>(kShmPendingSlice);
    const auto until = std::min(deadline, now + slice);
    if (in_path == InPath::kShm) {
      in_link->wait_for_data(until);
    } else {
      zmq_poll(&item, 1, std::max<long>(1, poll_ms(until, milliseconds(5))));
    }
  }
}

bool ZmqRingTransport::Impl::receive_shared(const ChunkHeader& expected, const Consumer* consume,
                                            std::span<std::byte> dst, Clock::time_point deadline,
                                            ChunkHeader& got) {
  ShmLink::SlotHeader slot;
  std::span<const std::byte> part;
  if (!next_slot(expected, deadline, slot, part)) return false;
  const std::string left_name = "left neighbour " + peer(left());
  if (slot.chunk.magic != wire::kMagic ||
      slot.chunk.kind != static_cast<uint16_t>(wire::Kind::kChunk))
    fail("malformed slot in the shared memory from " + left_name + " while waiting for " +
             describe(expected),
         left());
  got = check_chunk(slot.chunk, expected);
  auto deliver = [&](std::span<const std::byte> bytes) {
    if (consume != nullptr) {
      (*consume)(got, bytes);
    } else if (!bytes.empty()) {
      std::memcpy(dst.data(), bytes.data(), bytes.size());
    }
  };
  if (slot.remote_address != 0) {  // read from the left neighbour's buffer
    if (slot.part_offset != 0 || slot.part_bytes != got.bytes)
      fail("malformed descriptor of " + describe(got) + " in the shared memory from " + left_name,
           left());
    // Straight into the caller's buffer when it gave one.
    const std::span<std::byte> into =
        consume != nullptr ? (staging.resize(got.bytes), staging) : dst;
    if (!in_link->read_remote(slot.remote_address, into))
      fail("cannot read " + describe(got) + " from the memory of " + left_name +
               " (it failed, or its buffer is gone)",
           left());
    in_link->release();  // ours now: the sender may go on
    wire.count_received(sizeof slot);
    wire.count_received(into.size());
    if (consume != nullptr) (*consume)(got, into);
    return true;
  }
  auto check_part = [&](uint64_t filled) {
    if (slot.part_offset != filled || slot.part_bytes != part.size() ||
        filled + part.size() > got.bytes || (part.empty() && got.bytes > 0))
      fail("malformed " + describe(got) + " in the shared memory from " + left_name + " (part at " +
               std::to_string(slot.part_offset) + " of " + std::to_string(slot.part_bytes) +
               " bytes, " + std::to_string(filled) + " received)",
           left());
    wire.count_received(sizeof slot);
    if (!part.empty()) wire.count_received(part.size());
  };
  check_part(0);
  if (part.size() == got.bytes) {  // the usual case: reduced straight from the slot
    deliver(part);
    in_link->release();
    return true;
  }
  // A chunk larger than a slot: gathered here, part by part.
  std::vector<std::byte> whole(got.bytes);
  uint64_t filled = 0;
  for (;;) {
    std::memcpy(whole.data() + filled, part.data(), part.size());
    filled += part.size();
    in_link->release();
    if (filled == got.bytes) break;
    next_slot(expected, deadline, slot, part);
    check_chunk(slot.chunk, expected);  // fails unless it is the same chunk
    check_part(filled);
  }
  deliver(whole);
  return true;
}

void ZmqRingTransport::Impl::flush_shared(Clock::time_point deadline) {
  const auto start = Clock::now();
  // Queued chunks into slots, then, with descriptors out, until the right
  // neighbour has read them all: only then is the caller's buffer its own.
  while (!pump() || (descriptors_out && !out_link->all_released())) {
    drain_monitors();
    check_right_abort();
    check_cancelled();
    // A right neighbour that read everything and left is done, not gone:
    // look again after learning it left.
    if (right_gone && pump() && (!descriptors_out || out_link->all_released())) break;
    if (right_gone)
      fail("right neighbour " + peer(right()) + " disconnected before taking " +
               std::to_string(pending.size()) + " queued chunk(s)",
           right());
    const auto now = Clock::now();
    if (now >= deadline)
      fail("right neighbour " + peer(right()) + " did not take " + std::to_string(pending.size()) +
               " queued chunk(s) within " + waited_ms(start),
           right());
    const auto until =
        std::min(deadline, now + std::chrono::duration_cast<Clock::duration>(kShmSlice));
    if (pending.empty()) {
      out_link->wait_for_release(until);
    } else {
      out_link->wait_for_space(until, next_is_descriptor());
    }
  }
  descriptors_out = false;
}

// Receiver side of the handshake: connects to the stream the left
// neighbour's hello offers (its fourth part); returns the welcome's answer, or "".
std::string ZmqRingTransport::Impl::take_stream(Multipart& hello, Clock::time_point deadline) {
  StreamOffer offer;
  if (!tcp_stream_allowed(options) || hello.parts != 4 ||
      !StreamOffer::decode(hello.msg[3].data(), hello.msg[3].size(), offer))
    return "";
  std::string why;
  in_stream = TcpStream::connect(endpoints[left()], offer, options.socket_buffer_bytes,
                                 std::min(deadline, Clock::now() + std::chrono::seconds(5)), why);
  if (!in_stream) return "";  // chunks come over ZeroMQ
  wire.count_sent(kStreamCookieBytes);
  in_path = InPath::kStream;
  return std::string(kStreamTaken);
}

// Writes what the stream to the right takes now.
void ZmqRingTransport::Impl::progress_stream() {
  if (out_stream && out_stream->has_queued() &&
      out_stream->write_some(wire) == TcpStream::Io::kClosed)
    stream_write_failed("sending");
}

// The stream to the right broke: its abort, when it sent one, is the better
// reason, and may still be on its way over ZeroMQ.
void ZmqRingTransport::Impl::stream_write_failed(const std::string& while_doing) {
  const std::string error = out_stream->error();
  const auto until = Clock::now() + kDisconnectGrace;
  while (Clock::now() < until) {
    check_right_abort();
    zmq_pollitem_t item{sender, 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, std::max<long>(1, poll_ms(until, milliseconds(20))));
  }
  check_right_abort();
  fail("right neighbour " + peer(right()) + " disconnected while " + while_doing + " (" + error +
           ")",
       right());
}

ChunkHeader ZmqRingTransport::Impl::receive_stream(const ChunkHeader& expected,
                                                   const Consumer* consume,
                                                   std::span<std::byte> dst,
                                                   Clock::time_point deadline) {
  const auto start = Clock::now();
  auto left_name = [&] { return "left neighbour " + peer(left()); };  // for errors only
  wire::Header h;
  ChunkHeader got;
  bool have_header = false, stream_closed = false;
  Clock::time_point closed_at{};
  for (;;) {
    progress_stream();
    if (!stream_closed) {
      const auto io = have_header
                          ? in_stream->read_payload(got.bytes, wire, consume ? nullptr : dst.data())
                          : in_stream->read_header(h, wire);
      if (io == TcpStream::Io::kDone && have_header) {
        if (consume != nullptr) (*consume)(got, in_stream->payload());
        return got;
      }
      if (io == TcpStream::Io::kDone) {
        if (h.magic != wire::kMagic || h.kind != static_cast<uint16_t>(wire::Kind::kChunk))
          fail("malformed message on the TCP stream from " + left_name() + " while waiting for " +
                   describe(expected),
               left());
        got = check_chunk(h, expected);
        have_header = true;
        continue;
      }
      if (io == TcpStream::Io::kClosed) {
        // Its abort, if any, may follow on the ZeroMQ side: look for the grace.
        stream_closed = true;
        closed_at = Clock::now();
      }
    }
    // Over ZeroMQ now only an abort may come; anything else is a protocol error.
    Multipart m;
    if (read(listener, m)) {
      reject_foreign_or_abort(m, expected);
      fail("unexpected message over ZeroMQ (" + std::to_string(m.parts - 1) + " frame(s)) from " +
               left_name() + ", whose chunks come over the TCP stream",
           left());
    }
    drain_monitors();
    check_right_abort();
    check_cancelled();
    // Only the stream's end counts: a left neighbour that finished may have
    // closed its ZeroMQ side while its last chunks are still in our socket.
    if (stream_closed && Clock::now() - closed_at > kDisconnectGrace)
      fail(left_name() + " disconnected while waiting for " + describe(expected) + " (" +
               in_stream->error() + ")",
           left());
    if (Clock::now() >= deadline)
      fail("no " + describe(expected) + " from " + left_name() + " within " + waited_ms(start) +
               " (it, or a rank before it, is dead or stalled)",
           left());
    zmq_pollitem_t items[6];
    int k = 0;
    items[k++] = {listener, 0, ZMQ_POLLIN, 0};
    items[k++] = {listener_mon, 0, ZMQ_POLLIN, 0};
    items[k++] = {sender_mon, 0, ZMQ_POLLIN, 0};
    items[k++] = {sender, 0, ZMQ_POLLIN, 0};
    if (!stream_closed) items[k++] = {nullptr, in_stream->fd(), ZMQ_POLLIN, 0};
    if (out_stream && out_stream->has_queued())
      items[k++] = {nullptr, out_stream->fd(), ZMQ_POLLOUT, 0};
    const long ms = poll_ms(deadline, stream_closed ? milliseconds(20) : milliseconds(1000));
    if (zmq_poll(items, k, ms) == -1 && zmq_errno() != EINTR) ZMQ_CHECK(-1);
  }
}

void ZmqRingTransport::Impl::flush_stream(Clock::time_point deadline) {
  const auto start = Clock::now();
  Clock::time_point right_gone_at{};
  for (;;) {
    const auto io = out_stream->write_some(wire);
    if (io == TcpStream::Io::kDone) return;  // all in the kernel: the caller's buffers are free
    if (io == TcpStream::Io::kClosed) stream_write_failed("flushing");
    drain_monitors();
    check_right_abort();
    check_cancelled();
    if (right_gone && right_gone_at == Clock::time_point{}) right_gone_at = Clock::now();
    if (right_gone && Clock::now() - right_gone_at > kDisconnectGrace)
      fail("right neighbour " + peer(right()) + " disconnected before taking " +
               std::to_string(out_stream->queued()) + " queued chunk(s)",
           right());
    if (Clock::now() >= deadline)
      fail("right neighbour " + peer(right()) + " did not take " +
               std::to_string(out_stream->queued()) +
               " queued chunk(s) from the TCP stream within " + waited_ms(start),
           right());
    zmq_pollitem_t items[3] = {{nullptr, out_stream->fd(), ZMQ_POLLOUT, 0},
                               {sender, 0, ZMQ_POLLIN, 0},
                               {sender_mon, 0, ZMQ_POLLIN, 0}};
    const long ms = poll_ms(deadline, right_gone ? milliseconds(20) : milliseconds(1000));
    if (zmq_poll(items, 3, ms) == -1 && zmq_errno() != EINTR) ZMQ_CHECK(-1);
  }
}

bool ZmqRingTransport::sends_over_tcp_stream() const { return impl_->out_stream != nullptr; }

bool ZmqRingTransport::kernel_stream_bytes(uint64_t& sent, uint64_t& received) const {
  sent = received = 0;
  bool any = false;
  for (const TcpStream* s : {impl_->in_stream.get(), impl_->out_stream.get()}) {
    uint64_t a = 0, r = 0;
    if (s == nullptr || !s->kernel_bytes(a, r)) continue;
    sent += a;
    received += r;
    any = true;
  }
  return any;
}

void ZmqRingTransport::close() {
  Impl& d = *impl_;
  if (d.out_link) d.out_link->revoke();
  if (d.broken.empty()) d.broken = "ring rank " + std::to_string(d.rank) + ": closed";
  d.close_sockets();
}

}  // namespace ringmaster::comm
