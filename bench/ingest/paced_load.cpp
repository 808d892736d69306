// paced_load.cpp: posts SatisMeter deliveries at a fixed rate over keep-alive connections.
//
// wrk keeps each connection busy and times a request from when it is written, so a slow answer
// delays the requests behind it and their wait is never counted. Here request i is due at
// start + i / rate whatever happens to the others, and its latency runs from that due time to
// the last byte of its answer: a stall shows up in the percentiles it caused. The answers also
// say exactly which deliveries got a 2xx, which the durability check needs.
#include "deliveries.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    std::string port;
    std::string path;
    double rate = 1000;
    double seconds = 10;
    std::size_t connections = 16;
    std::uint32_t run = 9;
    std::string log;  // "id version" of each 2xx answer
};

// A queue this long means the server cannot keep up; the run stops instead of growing.
constexpr std::size_t max_backlog = 100000;
// After the last request is due, answers still outstanding get this long.
constexpr std::chrono::seconds drain_limit{10};

struct job {
    clock_type::time_point due;
    tributary::bench::delivery delivery;
};

class paced_load;

class client {
public:
    client(asio::io_context& ioc, paced_load& owner) : socket_(ioc), owner_(owner) {}

    tcp::socket& socket() { return socket_; }
    void send(job&& j);

private:
    void on_write(error_code ec, std::size_t);
    void on_read(error_code ec, std::size_t);

    tcp::socket socket_;
    paced_load& owner_;
    beast::flat_buffer buffer_;
    bhttp::request<bhttp::string_body> req_;
    std::optional<bhttp::response<bhttp::string_body>> res_;
    job job_;
};

class paced_load {
public:
    paced_load(asio::io_context& ioc, options o) : ioc_(ioc), o_(std::move(o)), timer_(ioc) {}

    void start() {
        tcp::resolver resolver(ioc_);
        auto endpoints = resolver.resolve(o_.host, o_.port);
        for (std::size_t i = 0; i < o_.connections; ++i) {
            auto c = std::make_unique<client>(ioc_, *this);
            asio::connect(c->socket(), endpoints);
            c->socket().set_option(tcp::no_delay(true));
            idle_.push_back(c.get());
            clients_.push_back(std::move(c));
        }
        if (!o_.log.empty()) {
            log_.open(o_.log);
        }
        total_ = static_cast<std::uint64_t>(o_.rate * o_.seconds);
        start_ = clock_type::now();
        tick();
    }

    const options& opts() const { return o_; }

    void finished(client* c, const job& j, unsigned status) {
        last_answer_ = clock_type::now();
        auto latency = last_answer_ - j.due;
        latencies_us_.push_back(std::chrono::duration<double, std::micro>(latency).count());
        if (status >= 200 && status < 300) {
            ++ok_;
            if (log_) {
                log_ << j.delivery.id << ' ' << j.delivery.version << '\n';
            }
        } else {
            ++not_ok_;
        }
        idle_.push_back(c);
        dispatch();
    }

    void failed(const std::string& what) {
        ++errors_;
        std::cerr << "paced_load: " << what << "\n";
        if (++dead_ == clients_.size()) {
            stop();
        }
    }

    void report() const {
        auto elapsed = std::chrono::duration<double>(last_answer_ - start_).count();
        auto sorted = latencies_us_;
        std::sort(sorted.begin(), sorted.end());
        auto pct = [&](double p) {
            if (sorted.empty()) {
                return 0.0;
            }
            auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
            return sorted[i] / 1000.0;
        };
        std::printf(
            "RESULT target_rps=%.1f rps=%.1f requests=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
            "p999_ms=%.3f max_ms=%.3f sent=%llu ok=%llu not_ok=%llu errors=%llu backlog_abort=%d\n",
            o_.rate, static_cast<double>(sorted.size()) / elapsed, sorted.size(), pct(50), pct(90),
            pct(99), pct(99.9), sorted.empty() ? 0.0 : sorted.back() / 1000.0,
            static_cast<unsigned long long>(sent_), static_cast<unsigned long long>(ok_),
            static_cast<unsigned long long>(not_ok_), static_cast<unsigned long long>(errors_),
            backlog_abort_ ? 1 : 0);
    }

private:
    clock_type::time_point due(std::uint64_t i) const {
        return start_ + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(static_cast<double>(i) / o_.rate));
    }

    // Queues every request that is due, hands them to idle connections, sleeps until the next.
    void tick() {
        auto now = clock_type::now();
        while (scheduled_ < total_ && due(scheduled_) <= now) {
            backlog_.push_back({due(scheduled_), mix_.next()});
            ++scheduled_;
        }
        if (backlog_.size() > max_backlog) {
            backlog_abort_ = true;
            return stop();
        }
        dispatch();
        if (scheduled_ < total_) {
            timer_.expires_at(due(scheduled_));
        } else {
            timer_.expires_at(now + drain_limit);
            draining_ = true;
        }
        timer_.async_wait([this](error_code ec) {
            if (ec) {
                return;
            }
            if (draining_) {
                return stop();  // answers still missing after the drain limit
            }
            tick();
        });
    }

    void dispatch() {
        while (!backlog_.empty() && !idle_.empty()) {
            auto* c = idle_.back();
            idle_.pop_back();
            ++sent_;
            c->send(std::move(backlog_.front()));
            backlog_.pop_front();
        }
        if (draining_ && backlog_.empty() && idle_.size() + dead_ == clients_.size()) {
            stop();
        }
    }

    void stop() {
        timer_.cancel();
        for (auto& c : clients_) {
            error_code ignored;
            c->socket().close(ignored);
        }
        ioc_.stop();
    }

    asio::io_context& ioc_;
    options o_;
    asio::steady_timer timer_;
    tributary::bench::delivery_mix mix_{o_.run, 1};
    std::vector<std::unique_ptr<client>> clients_;
    std::vector<client*> idle_;
    std::deque<job> backlog_;
    std::vector<double> latencies_us_;
    std::ofstream log_;
    clock_type::time_point start_;
    clock_type::time_point last_answer_;
    std::uint64_t total_ = 0;
    std::uint64_t scheduled_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t ok_ = 0;
    std::uint64_t not_ok_ = 0;
    std::uint64_t errors_ = 0;
    std::size_t dead_ = 0;
    bool draining_ = false;
    bool backlog_abort_ = false;
};

void client::send(job&& j) {
    job_ = std::move(j);
    req_ = {};
    req_.method(bhttp::verb::post);
    req_.target(owner_.opts().path);
    req_.version(11);
    req_.set(bhttp::field::host, owner_.opts().host);
    req_.set(bhttp::field::content_type, "application/json");
    req_.set(bhttp::field::user_agent, "SatisMeter");
    req_.keep_alive(true);
    req_.body() = std::move(job_.delivery.body);
    req_.prepare_payload();
    bhttp::async_write(socket_, req_, [this](error_code ec, std::size_t n) { on_write(ec, n); });
}

void client::on_write(error_code ec, std::size_t) {
    if (ec) {
        return owner_.failed("write: " + ec.message());
    }
    res_.emplace();
    bhttp::async_read(socket_, buffer_, *res_,
                      [this](error_code read_ec, std::size_t n) { on_read(read_ec, n); });
}

void client::on_read(error_code ec, std::size_t) {
    if (ec) {
        return owner_.failed("read: " + ec.message());
    }
    owner_.finished(this, job_, res_->result_int());
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string name = argv[i];
        std::string value = argv[i + 1];
        if (name == "--host") {
            o.host = value;
        } else if (name == "--port") {
            o.port = value;
        } else if (name == "--path") {
            o.path = value;
        } else if (name == "--rate") {
            o.rate = std::atof(value.c_str());
        } else if (name == "--seconds") {
            o.seconds = std::atof(value.c_str());
        } else if (name == "--connections") {
            o.connections = static_cast<std::size_t>(std::max(1, std::atoi(value.c_str())));
        } else if (name == "--run") {
            o.run = static_cast<std::uint32_t>(std::atoi(value.c_str()));
        } else if (name == "--log") {
            o.log = value;
        } else {
            return false;
        }
    }
    return argc % 2 == 1 && !o.port.empty() && !o.path.empty() && o.rate > 0 && o.seconds > 0 &&
           o.seconds <= 600;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse(argc, argv, o)) {
        std::cerr << "usage: bench_paced_load --port PORT --path PATH --rate PER_SECOND "
                     "--seconds S (at most 600) [--host 127.0.0.1] [--connections N] [--run N] "
                     "[--log FILE]\n";
        return 2;
    }
    asio::io_context ioc(1);
    paced_load load(ioc, o);
    try {
        load.start();
    } catch (const std::exception& e) {
        std::cerr << "paced_load: cannot connect: " << e.what() << "\n";
        return 1;
    }
    ioc.run();
    load.report();
    return 0;
}
