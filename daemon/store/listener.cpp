#include "daemon/store/listener.hpp"

#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

struct Listener::Impl {
  // Nested, not in an anonymous namespace: Impl has linkage, and a unity build includes this file.
  class Receiver : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& c, const std::string& channel, std::vector<Notification>& sink)
        : pqxx::notification_receiver(c, channel), sink_(sink) {}
    void operator()(const std::string& payload, int) override { sink_.push_back({channel(), payload}); }

   private:
    std::vector<Notification>& sink_;
  };

  explicit Impl(const std::string& url) : conn(with_connection_bounds(url)) { stay_down_when_cut(conn); }
  pqxx::connection conn;
  std::vector<Notification> received;
  std::vector<std::unique_ptr<Receiver>> receivers;
};

std::unique_ptr<Listener> Listener::connect(const std::string& url, const std::vector<std::string>& channels) {
  return detail::redacting_connect_errors(url, [&] { return detail::translate_errors([&] {
    auto impl = std::make_unique<Impl>(url);
    for (const auto& channel : channels) impl->receivers.push_back(std::make_unique<Impl::Receiver>(impl->conn, channel, impl->received));
    impl->conn.get_notifs();  // issues the LISTENs now
    return std::unique_ptr<Listener>(new Listener(std::move(impl)));
  }); });
}

Listener::Listener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Listener::~Listener() = default;

std::vector<Notification> Listener::wait(std::chrono::milliseconds timeout) {
  return detail::translate_errors([&] {
    impl_->received.clear();
    if (impl_->conn.get_notifs() == 0) {
      const auto us = timeout.count() * 1000;
      impl_->conn.await_notification(static_cast<long>(us / 1'000'000), static_cast<long>(us % 1'000'000));
    }
    if (!impl_->conn.is_open()) throw pqxx::broken_connection("listener connection closed");
    return std::move(impl_->received);
  });
}

}  // namespace govjobd::store
