/* Tbar's oneMKL vendor fix (docs/speed.md).
 *
 * oneMKL picks its fast AVX2/AVX-512 kernels only when mkl_serv_intel_cpu_true() says the CPU is Intel's; on other x86
 * CPUs with the same instructions it falls back to a slower generic path. libtorch_cpu.so exports that function and calls
 * it through its PLT, so a library loaded RTLD_GLOBAL before libtorch answers in its place. Tbar.NativeStartup loads this
 * one, only on non-Intel x86 CPUs, unless TBAR_MKL_VENDOR_FIX=0.
 *
 * tbar_shim_calls() counts the answers, so a test can check that MKL asked this library and not its own copy. */

static long calls;

int mkl_serv_intel_cpu_true(void)
{
    __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return 1;
}

long tbar_shim_calls(void)
{
    return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}
