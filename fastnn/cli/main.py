"""``python -m fastnn info | cache clear | warmup``: the bug-report text and the kernel cache, from the command
line."""
import argparse
import shutil
import sys


def _clear_cache():
    from .show_versions import folder_size
    from ..kernels import cache_dir

    folder = cache_dir()
    if folder is None:
        print("fastnn: kernels run uncached here; nothing to clear.")
        return
    files, size = folder_size(folder)
    shutil.rmtree(folder, ignore_errors=True)
    print(f"fastnn: removed {files} files ({size / 2**20:.1f} MiB) from {folder}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print versions, BLAS threads and the kernel cache (for bug reports)")
    cache = commands.add_parser("cache", help="manage the compiled-kernel cache")
    cache.add_argument("action", choices=["clear"], help="clear: delete this installation's compiled kernels")
    warm = commands.add_parser("warmup", help="compile the estimators' kernels into the cache (images, CI caches)")
    warm.add_argument("--dtype", choices=["float32", "float64", "both"], default="float32")
    warm.add_argument("--no-cnn", action="store_true", help="skip the convolution and pooling kernels")
    args = parser.parse_args(argv)
    if args.command == "info":
        from .show_versions import show_versions

        show_versions()
    elif args.command == "warmup":
        from .warmup import warmup

        warmup(args.dtype, cnn=not args.no_cnn)
    else:
        _clear_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
