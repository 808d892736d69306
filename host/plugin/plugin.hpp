// plugin.hpp: loads a connector library with Boost.DLL and checks it against its manifest.
#pragma once

#include "manifest/manifest.hpp"
#include "plugin/call.hpp"

#include <tributary/abi.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tributary::host {

// One line naming the library file and the reason.
class plugin_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The services table every call into any plugin receives.
const trib_host_api& host_api();

// A loaded, checked connector library and its one instance. Shared by everything that calls
// into it, so the code stays mapped while any call is in flight.
class plugin {
public:
    // Throws plugin_error. The library is resolved against plugin_dir when relative.
    static std::shared_ptr<plugin> load(const manifest& m, const std::filesystem::path& plugin_dir);
    ~plugin();
    plugin(const plugin&) = delete;
    plugin& operator=(const plugin&) = delete;

    const std::string& id() const { return id_; }
    const std::string& version() const { return version_; }
    const std::string& sdk_version() const { return sdk_version_; }
    const std::filesystem::path& file() const { return file_; }
    std::uint32_t abi_minor() const { return descriptor_->abi_minor; }

    // Each returns a trib_status; a plugin that throws past its shim becomes TRIB_ERR_INTERNAL.
    int32_t webhook(trib_call& call, std::string_view route, const trib_http_request& request);
    int32_t action(trib_call& call, std::string_view action, std::string_view params_json);
    int32_t hook(trib_call& call, std::string_view hook, std::string_view input_json);

private:
    plugin() = default;
    void check_descriptor(const manifest& m);
    void check_capabilities(const manifest& m);

    boost::dll::shared_library library_;
    const trib_connector* descriptor_ = nullptr;
    void* instance_ = nullptr;
    std::filesystem::path file_;
    std::string id_;
    std::string version_;
    std::string sdk_version_;
};

}  // namespace tributary::host
