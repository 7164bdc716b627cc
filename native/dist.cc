// Distributed training over PyTorch's c10d, kept thin: distInit makes a TCPStore (rank 0 serves it) and one
// process group, Gloo for CPU tensors or NCCL for CUDA ones, and resolves to a ProcessGroup object with
// broadcast, allreduce, barrier and close. Each call enqueues its collectives on the JS thread, in call
// order (every rank must issue them in the same order), and waits for them on the libuv thread pool: the
// promise settles when they are done, and every c10d or gloo exception (a peer that left, a timeout, a
// store that never filled) rejects it with the native message. An uncaught wait() would abort the process.
//
// Gloo objects are held only through c10d's classes and never built or called here: the gloo headers come
// from the system (Debian's libgloo-dev), older than the gloo inside libtorch_cpu, so only c10d's exported
// functions may touch them.
#include "dist.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <c10/util/Logging.h>

#include "torch_addon.h"

#ifdef TORCHTS_DIST_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace torchts {

#ifdef TORCHTS_DIST_GLOO
static constexpr bool kGloo = true;
#else
static constexpr bool kGloo = false;
#endif
#ifdef TORCHTS_DIST_NCCL_LINKED
static constexpr bool kNccl = true;
#else
static constexpr bool kNccl = false;
#endif

// Why this build has no distributed support (set by CMakeLists.txt), for the error messages.
#ifndef TORCHTS_DIST_MISSING
#define TORCHTS_DIST_MISSING ""
#endif

// distBackends() -> { gloo, nccl, missing }: which process groups this build can make; missing says why
// Gloo is absent ("" when present).
Napi::Value Torch::DistBackends(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("gloo", kGloo);
  o.Set("nccl", kNccl);
  o.Set("missing", TORCHTS_DIST_MISSING);
  return o;
}

#ifndef TORCHTS_DIST_GLOO

Napi::Value Torch::DistInit(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), std::string("distributed training is not in this build of the native addon: ") +
                                         TORCHTS_DIST_MISSING +
                                         ". Install gloo's headers (apt-get install libgloo-dev, or bash scripts/setup.sh) "
                                         "and rebuild: npm run build:native");
}

#else

namespace dist {

std::string message_of(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

// Tagged, so that a method called on another object (pg.allreduce.call(x)) is an error, not a bad cast.
const napi_type_tag kGroupTag = {0x7a1c5d2e90b34f61ULL, 0x8e02c4b7d15a3f90ULL};

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  int rank = 0, size = 1;
  std::string name;
};

// Waits for enqueued works on the thread pool, then lets go of the group; resolves with undefined.
class WaitWorker : public Napi::AsyncWorker {
 public:
  // `failed`: an error already met (when enqueueing), reported after the works enqueued before it are done.
  WaitWorker(Napi::Env env, std::string what, std::vector<c10::intrusive_ptr<c10d::Work>> works,
             std::shared_ptr<Group> keep, std::string failed = "")
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), what_(std::move(what)),
        works_(std::move(works)), keep_(std::move(keep)), failed_(std::move(failed)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    std::string first = failed_;
    // Every work is waited for, even after one failed: none is left running on the tensors.
    for (auto& w : works_) {
      try {
        w->wait();
      } catch (const std::exception& e) {
        if (first.empty()) first = message_of(e);
      }
    }
    works_.clear();
    // A collective holds its group until it is done; the last reference to a closed group is dropped
    // here, off the JS thread: its destructor joins gloo's threads.
    keep_.reset();
    if (!first.empty()) SetError(what_ + ": " + first);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string what_;
  std::vector<c10::intrusive_ptr<c10d::Work>> works_;
  std::shared_ptr<Group> keep_;
  std::string failed_;
};

}  // namespace dist

using dist::Group;
using dist::WaitWorker;
using dist::kGroupTag;
using dist::message_of;

// The ProcessGroup object distInit resolves to: a wrapper around one shared Group.
class Torch::DistGroup : public Napi::ObjectWrap<DistGroup> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ProcessGroup", {
        InstanceMethod("allreduce", &DistGroup::Allreduce),
        InstanceMethod("broadcast", &DistGroup::Broadcast),
        InstanceMethod("barrier", &DistGroup::Barrier),
        InstanceMethod("close", &DistGroup::Close),
    });
  }
  explicit DistGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DistGroup>(info) {
    info.This().As<Napi::Object>().TypeTag(&kGroupTag);
  }
  void attach(Torch* owner, std::shared_ptr<Group> g) {
    owner_ = owner;
    group_ = std::move(g);
  }

 private:
  Torch* owner_ = nullptr;
  std::shared_ptr<Group> group_;

  Group& live(const Napi::CallbackInfo& info, const char* what) {
    if (!info.This().As<Napi::Object>().CheckTypeTag(&kGroupTag))
      throw Napi::TypeError::New(info.Env(), std::string(what) + ": not a ProcessGroup");
    if (!group_) throw Napi::Error::New(info.Env(), std::string(what) + ": the process group is closed");
    return *group_;
  }

  std::vector<at::Tensor> tensors(const Napi::Value& v, const char* what) {
    if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of tensors");
    auto a = v.As<Napi::Array>();
    std::vector<at::Tensor> out;
    out.reserve(a.Length());
    for (uint32_t i = 0; i < a.Length(); i++) out.push_back(owner_->handles_.get(a.Get(i)));
    return out;
  }

  template <typename F>
  Napi::Value run(const Napi::CallbackInfo& info, const char* what, F&& enqueue) {
    Group& g = live(info, what);
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    try {
      enqueue(g, works);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      // The works already enqueued still run: they are waited for, and the error is the promise's.
      auto* w = new WaitWorker(info.Env(), what, std::move(works), group_, message_of(e));
      auto p = w->promise();
      w->Queue();
      return p;
    }
    auto* w = new WaitWorker(info.Env(), what, std::move(works), group_);
    auto p = w->promise();
    w->Queue();
    return p;
  }

  // allreduce(tensors, op): each tensor reduced in place across ranks ("sum", "max", "min" or "product").
  Napi::Value Allreduce(const Napi::CallbackInfo& info) {
    std::string op = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "sum";
    c10d::AllreduceOptions o;
    if (op == "sum") o.reduceOp = c10d::ReduceOp::SUM;
    else if (op == "max") o.reduceOp = c10d::ReduceOp::MAX;
    else if (op == "min") o.reduceOp = c10d::ReduceOp::MIN;
    else if (op == "product") o.reduceOp = c10d::ReduceOp::PRODUCT;
    else throw Napi::TypeError::New(info.Env(), "allreduce: op must be sum, max, min or product, got " + op);
    auto ts = tensors(info[0], "allreduce");
    return run(info, "allreduce", [&](Group& g, auto& works) {
      for (auto& t : ts) {
        std::vector<at::Tensor> one{t};
        works.push_back(g.backend->allreduce(one, o));
      }
    });
  }

  // broadcast(tensors, root): each tensor takes rank root's values.
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    auto ts = tensors(info[0], "broadcast");
    c10d::BroadcastOptions o;
    o.rootRank = info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 0;
    return run(info, "broadcast", [&](Group& g, auto& works) {
      if (o.rootRank < 0 || o.rootRank >= g.size)
        throw Napi::RangeError::New(info.Env(), "broadcast: root " + std::to_string(o.rootRank) + " is not a rank of this group of " + std::to_string(g.size));
      for (auto& t : ts) {
        std::vector<at::Tensor> one{t};
        works.push_back(g.backend->broadcast(one, o));
      }
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return run(info, "barrier", [&](Group& g, auto& works) { works.push_back(g.backend->barrier()); });
  }

  // close(): the group is released on the thread pool (its destructor joins gloo's threads); calls after
  // it throw. Safe to call twice.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto* w = new WaitWorker(info.Env(), "close", {}, std::move(group_));
    group_.reset();
    auto p = w->promise();
    w->Queue();
    return p;
  }
};

namespace dist {

struct InitOptions {
  std::string host;  // the store's address (rank 0's machine)
  int port = 0, rank = 0, size = 1;
  std::chrono::milliseconds timeout{300000};
  std::string backend = "gloo";
  std::string bind;  // gloo: the address or interface ("iface:eth0") to listen on; "" = this host's
  int device = 0;    // nccl: the CUDA device
};

#if defined(__linux__)
// Shuts down (without closing: c10d still owns them) this process's TCP sockets connected to host:port;
// returns how many.
int shutdown_sockets_to(const std::string& host, int port) {
  std::vector<sockaddr_storage> peers;
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) == 0) {
    for (auto* a = res; a; a = a->ai_next) {
      sockaddr_storage s{};
      std::memcpy(&s, a->ai_addr, a->ai_addrlen);
      peers.push_back(s);
    }
    freeaddrinfo(res);
  }
  // An IPv4 peer may show as an IPv4-mapped IPv6 address: compare both as IPv4 then.
  auto v4 = [](const sockaddr_storage& a, uint32_t& ip, uint16_t& port) {
    if (a.ss_family == AF_INET) {
      auto& s4 = reinterpret_cast<const sockaddr_in&>(a);
      ip = s4.sin_addr.s_addr, port = s4.sin_port;
      return true;
    }
    auto& s6 = reinterpret_cast<const sockaddr_in6&>(a);
    if (a.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) return false;
    std::memcpy(&ip, s6.sin6_addr.s6_addr + 12, 4);
    port = s6.sin6_port;
    return true;
  };
  auto same = [&](const sockaddr_storage& p) {
    for (auto& q : peers) {
      uint32_t ip1, ip2;
      uint16_t port1, port2;
      if (v4(p, ip1, port1) && v4(q, ip2, port2)) {
        if (ip1 == ip2 && port1 == port2) return true;
      } else if (p.ss_family == AF_INET6 && q.ss_family == AF_INET6) {
        auto &a = reinterpret_cast<const sockaddr_in6&>(p), &b = reinterpret_cast<const sockaddr_in6&>(q);
        if (a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0) return true;
      }
    }
    return false;
  };
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == dirfd(d)) continue;
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage peer{};
    len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 && same(peer) && shutdown(fd, SHUT_RDWR) == 0) n++;
  }
  closedir(d);
  return n;
}
#endif

// A client's TCPStore waits for the server's answer to its first ping with no timeout, so a port held by
// another program (one that accepts and never answers) would block it, and the process's exit, forever.
// Past the deadline this watchdog shuts down the store's connections until the constructor gives up.
class StoreWatchdog {
 public:
  StoreWatchdog(std::string host, int port, std::chrono::milliseconds after) {
#if defined(__linux__)
    thread_ = std::thread([this, host = std::move(host), port, after] {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, after, [this] { return done_; })) return;
      while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return done_; })) {
        if (shutdown_sockets_to(host, port) > 0) fired_ = true;
      }
    });
#endif
  }
  ~StoreWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
  std::thread thread_;
};

}  // namespace dist
using dist::InitOptions;

class Torch::DistInitWorker : public Napi::AsyncWorker {
 public:
  DistInitWorker(Napi::Env env, Torch* owner, InitOptions o)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), o_(std::move(o)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    auto g = std::make_shared<Group>();
    g->rank = o_.rank;
    g->size = o_.size;
    g->name = o_.backend;
    std::string stage = "store";
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(o_.port);
      so.isServer = o_.rank == 0;
      so.numWorkers = o_.size;
      so.waitWorkers = true;
      so.timeout = o_.timeout;
      if (so.isServer) {
        g->store = c10::make_intrusive<c10d::TCPStore>(o_.host, so);
      } else {
        // A client retries its connection for about twice its timeout: give it half, so that a store
        // that never comes up is reported within the group's timeout.
        so.timeout = std::max(std::chrono::milliseconds(1000), o_.timeout / 2);
        dist::StoreWatchdog watchdog(o_.host, o_.port, o_.timeout);
        try {
          g->store = c10::make_intrusive<c10d::TCPStore>(o_.host, so);
        } catch (const std::exception& e) {
          if (!watchdog.fired()) throw;
          throw std::runtime_error("no rendezvous store answered at " + o_.host + ":" + std::to_string(o_.port) + " within " +
                                   std::to_string(o_.timeout.count()) + " ms: something else holds that port, or it is not rank 0's store (" +
                                   message_of(e) + ")");
        }
      }
      stage = "process group";
      if (o_.backend == "nccl") {
#ifdef TORCHTS_DIST_NCCL_LINKED
        g->backend = dist::make_nccl(g->store, o_.rank, o_.size, o_.timeout, o_.device);
#endif
      } else {
        auto po = c10d::ProcessGroupGloo::Options::create(o_.timeout);
        if (o_.bind.rfind("iface:", 0) == 0)
          po->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o_.bind.substr(6)));
        else if (!o_.bind.empty())
          po->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o_.bind));
        else
          po->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        g->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, o_.rank, o_.size, po);
      }
      group_ = std::move(g);
    } catch (const std::exception& e) {
      SetError(stage + ": " + message_of(e));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      if (owner_->dist_group_class_.IsEmpty()) owner_->dist_group_class_ = Napi::Persistent(DistGroup::Define(env));
      Napi::Object obj = owner_->dist_group_class_.New({});
      DistGroup::Unwrap(obj)->attach(owner_, group_);
      obj.Set("rank", group_->rank);
      obj.Set("size", group_->size);
      obj.Set("backend", group_->name);
      deferred_.Resolve(obj);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Torch* owner_;
  InitOptions o_;
  std::shared_ptr<Group> group_;
};

// distInit({ host, port, rank, size, timeoutMs, backend: "gloo" | "nccl", bind?, device? }) -> Promise<ProcessGroup>.
// Rank 0 serves the store on port (it must be free) and waits for every rank to join; the others connect,
// retrying, until timeoutMs. The timeout also bounds every collective of the group.
Napi::Value Torch::DistInit(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "distInit: expected an options object");
    auto a = info[0].As<Napi::Object>();
    auto num = [&](const char* k, double lo, double hi) -> double {
      auto v = a.Get(k);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
      if (!(d >= lo && d <= hi && d == std::trunc(d)))
        throw Napi::RangeError::New(env, std::string("distInit: ") + k + " must be an integer in [" + std::to_string((long long)lo) +
                                             ", " + std::to_string((long long)hi) + "], got " + v.ToString().Utf8Value());
      return d;
    };
    auto str = [&](const char* k, const std::string& dflt) {
      auto v = a.Get(k);
      return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
    };
    InitOptions o;
    o.host = str("host", "127.0.0.1");
    o.port = static_cast<int>(num("port", 1, 65535));
    o.size = static_cast<int>(num("size", 1, 1 << 20));
    o.rank = static_cast<int>(num("rank", 0, o.size - 1));
    o.timeout = std::chrono::milliseconds(static_cast<int64_t>(num("timeoutMs", 1, 1e10)));
    o.backend = str("backend", "gloo");
    o.bind = str("bind", "");
    if (o.backend == "nccl") {
      if (!kNccl)
        throw Napi::Error::New(env, "distInit: this build has no NCCL process group (it needs a CUDA LibTorch with NCCL, and "
                                    "NCCL's and CUDA's headers when the addon is built); use backend gloo with CPU tensors");
      o.device = static_cast<int>(num("device", 0, 1024));
    } else if (o.backend != "gloo") {
      throw Napi::TypeError::New(env, "distInit: backend must be gloo or nccl, got " + o.backend);
    }
    // c10d logs every failed connection and timeout with a C++ backtrace on stderr, though each reaches JS
    // as an error with the same message: its log shows only fatal messages, unless TORCH_CPP_LOG_LEVEL says.
    if (!std::getenv("TORCH_CPP_LOG_LEVEL")) FLAGS_caffe2_log_level = std::max(FLAGS_caffe2_log_level, 3);
    auto* w = new DistInitWorker(env, this, std::move(o));
    auto p = w->promise();
    w->Queue();
    return p;
  });
}

#endif  // TORCHTS_DIST_GLOO

}  // namespace torchts
