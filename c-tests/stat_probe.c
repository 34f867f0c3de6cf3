/*
 * Looks each path up with stat, lstat and fstatat (AT_FDCWD) and prints, for
 * each, the result and what a caller reads of the buffer:
 *
 *   <call> <path>: <rc> size=<n> mode=<octal> mtime=<seconds> blocks=<n>
 *
 * tests/other_arches.rs builds it for i386 three ways: plain (`stat`),
 * with -D_FILE_OFFSET_BITS=64 (`stat64`) and with -D_TIME_BITS=64 as well
 * (`__stat64_time64`), so each of libcafix.so's buffer layouts is read by
 * the C compiler's own idea of `struct stat`.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

static void show(const char *call, const char *path, int rc, const struct stat *st) {
    if (rc != 0) {
        printf("%s %s: %d\n", call, path, rc);
        return;
    }
    printf("%s %s: %d size=%lld mode=%o mtime=%lld blocks=%lld\n", call, path, rc, (long long)st->st_size,
           (unsigned)st->st_mode, (long long)st->st_mtime, (long long)st->st_blocks);
}

int main(int argc, char **argv) {
    printf("sizeof(struct stat)=%zu sizeof(time_t)=%zu\n", sizeof(struct stat), sizeof(time_t));
    for (int i = 1; i < argc; i++) {
        struct stat st;
        show("stat", argv[i], stat(argv[i], &st), &st);
        show("lstat", argv[i], lstat(argv[i], &st), &st);
        show("fstatat", argv[i], fstatat(AT_FDCWD, argv[i], &st, 0), &st);
    }
    return 0;
}
