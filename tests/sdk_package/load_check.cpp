// load_check.cpp: reads a manifest and loads its library as the host does, or says why not.
//
//   sdk_load_check <manifest.yaml> <plugin-dir>
//   sdk_load_check --manifest-only <manifest.yaml>
//
// Exits 0 and prints "loaded <id> <version>" (or "valid <id> <version>" for a manifest alone);
// otherwise prints the host's one-line reason to stderr and exits 1.
#include "manifest/manifest.hpp"
#include "plugin/plugin.hpp"

#include <exception>
#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
    bool manifest_only = argc == 3 && std::string_view(argv[1]) == "--manifest-only";
    if (argc != 3) {
        std::cerr << "usage: sdk_load_check <manifest.yaml> <plugin-dir>\n"
                     "       sdk_load_check --manifest-only <manifest.yaml>\n";
        return 2;
    }
    try {
        auto m = tributary::host::load_manifest(argv[manifest_only ? 2 : 1]);
        if (manifest_only) {
            std::cout << "valid " << m.id << " " << m.version << "\n";
            return 0;
        }
        auto p = tributary::host::plugin::load(m, argv[2]);
        std::cout << "loaded " << p->id() << " " << p->version() << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
