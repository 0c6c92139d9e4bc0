/*
 * torch_load.h - libtorch is loaded when camlab first needs it, not when the process starts.
 *
 * The shim (torch_shim.cpp) is built as its own shared library, libcamlab_torch.so, and every function of
 * torch_shim.h that the rest of camlab calls is a small stub (torch_load.c) that loads it on first use.
 * Loading libtorch costs about half a second (Debian's libtorch_cpu pulls in some 290 libraries and
 * registers thousands of operators), so commands that never touch a tensor (check, plan, status,
 * report, merge, submit, help) skip it, and commands that will need it start it in the background
 * (ts_load_start) and do their own preparation meanwhile.
 *
 * Where the library is looked for, in this order: $CAMLAB_TORCH_SHIM (a path; nothing else is tried when
 * it is set), libcamlab_torch.so beside the running executable (a build folder), where `cmake --install`
 * puts it relative to the executable (bin/../lib/camlab), and the path it was built at. A library
 * that cannot be loaded is a broken installation: the first call that needs it prints why and exits 1.
 */
#ifndef CAM_TORCH_LOAD_H
#define CAM_TORCH_LOAD_H

/* Start loading libtorch in a background thread (once; later calls do nothing). */
void ts_load_start(void);

/*
 * Wait for a load that ts_load_start began. Call it before fork() when the child goes on running camlab:
 * a child forked while the loader thread holds the dynamic loader's lock would hang. Registered with
 * atexit by ts_load_start, so that the process never exits in the middle of libtorch's initialisers.
 */
void ts_load_wait(void);

/* 1 if libtorch is loaded (by a stub or a finished ts_load_start), else 0; never loads it. */
int ts_loaded(void);

/* The path libcamlab_torch.so was loaded from, or NULL while it is not loaded. */
const char *ts_load_path(void);

#endif
