// libnanovlm_glibcxx_compat.so: a tiny compatibility shim for TorchSharp's libLibTorchSharp.so on Linux
// distributions whose libstdc++ predates GCC 13 (no GLIBCXX_3.4.32), e.g. Debian 12 or Ubuntu 22.04.
//
// Built with the system g++ by src/Engine/build/NanoVlm.Engine.targets and added as DT_NEEDED of the
// patched libLibTorchSharp.so (see src/Engine/README.md). Only compiled and used when the fix applies.
//
// Background: since GCC 13, <iostream> no longer puts a static std::ios_base::Init object into every
// translation unit. libstdc++ 13 initializes cout/cin/cerr/clog itself (init_priority 90) and <iostream>
// instead emits `.globl _ZSt21ios_base_library_initv`: an undefined reference to a no-op symbol that
// exists only to make the dynamic linker demand a libstdc++ with GLIBCXX_3.4.32 (i.e. one that
// initializes the standard streams by itself). libLibTorchSharp.so has no relocation against it; the
// reference is never called.
//
// With an older libstdc++ the streams are only initialized by std::ios_base::Init objects, so this
// shim does two things:
//   1. defines std::ios_base_library_init() (a no-op, exactly as in GCC 13) so the reference, now
//      unversioned, resolves to something;
//   2. owns a static std::ios_base::Init, the pre-GCC-13 way of guaranteeing the standard streams are
//      constructed before any code of libLibTorchSharp.so (a DT_NEEDED dependency is initialized
//      before the object that needs it) and flushed at exit.
#include <ios>

namespace std
{
    // Same mangled name as libstdc++ 13's hook: _ZSt21ios_base_library_initv.
    __attribute__((visibility("default"))) void ios_base_library_init() {}
}

namespace
{
    // Reference-counted: constructs the standard stream objects on first use, flushes them at exit.
    const std::ios_base::Init nanovlm_ios_init;
}

// Lets tests check that the shim is the library that was loaded.
extern "C" __attribute__((visibility("default"))) int nanovlm_glibcxx_compat_version() { return 1; }
