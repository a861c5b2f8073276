/* sanitizer_options.c -- linked into every enclave image (and nothing else): in a sanitizer
 * build, the image's ASan defaults. The sandbox forbids starting a symbolizer process, so
 * reports print raw addresses (module + offset) and the process exits instead of being killed
 * halfway through the report. Empty in normal builds. */
#if defined(__SANITIZE_ADDRESS__)
#define TEE_IMAGE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEE_IMAGE_ASAN 1
#endif
#endif

#ifdef TEE_IMAGE_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "symbolize=0";
}
#else
typedef int tee_image_has_no_sanitizer; /* an ISO C file must declare something */
#endif
