// Whether this translation unit is built with AddressSanitizer (GCC says so with a macro, clang
// with a feature test): its allocator and its dlopen behave unlike glibc's.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define T2I_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T2I_ADDRESS_SANITIZER 1
#endif
#endif
