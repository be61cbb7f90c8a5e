"""The files of fastnn's kernel cache, checked on every load so that a damaged cache heals instead of failing.

Numba's own cache files are pickles read without any check: a file cut short by a full disk or a killed process,
or overwritten with other bytes, makes every later load raise (``UnpicklingError``) until the folder is deleted.
fastnn writes the same content with a header and a checksum:

    index ``<kernel>.nbi``  = MAGIC + sha256(payload) + payload,  payload = pickle((numba version, source stamp,
                              {key: data file name}))
    data  ``<kernel>.<h>.nbc`` = MAGIC + sha256(payload) + payload, payload = pickle((key, compiled kernel))

where ``key`` is Numba's index key (signature, target CPU, bytecode hash) and ``h`` a hash of it. A file that is cut,
overwritten, written by another Numba or in another format, or whose data holds another key than the index says,
raises ``DamagedEntry`` with the reason; the cache then evicts it and the kernel is compiled and written again.
An index whose source stamp differs (the kernel's source file changed) is stale, not damaged: it reads as empty,
as in Numba.

Writes are atomic (a temporary file, then ``os.replace``, as Numba does) and a kernel's data file is written before
the index entry that points to it; data file names derive from the key, so processes compiling different
signatures of one kernel at once never write the same file. Readers thus never see a half-written entry; writers
racing on one index may drop each other's new entry, which costs one compile later, never a wrong load.
"""
import hashlib
import os
import pickle

import numba
from numba.core import caching
from numba.core.serialize import dumps

MAGIC = b"fastnn kernel cache 1\n"
_DIGEST = 32


class DamagedEntry(Exception):
    """A cache file that cannot be used; ``reason`` says why."""

    def __init__(self, path, reason):
        super().__init__(f"{os.path.basename(path)}: {reason}")
        self.path, self.reason = path, reason


def pack(obj):
    """The bytes of a cache file holding ``obj``."""
    payload = dumps(obj)
    return MAGIC + hashlib.sha256(payload).digest() + payload


def unpack(blob, path):
    """The object in a cache file's bytes ``blob``; ``DamagedEntry`` if they are not one fastnn wrote whole."""
    if not blob:
        raise DamagedEntry(path, "empty file")
    if not blob.startswith(MAGIC):
        reason = "truncated header" if MAGIC.startswith(blob) else "not a fastnn cache file (foreign or overwritten)"
        raise DamagedEntry(path, reason)
    digest, payload = blob[len(MAGIC) : len(MAGIC) + _DIGEST], blob[len(MAGIC) + _DIGEST :]
    if hashlib.sha256(payload).digest() != digest:
        raise DamagedEntry(path, "checksum mismatch (truncated or overwritten)")
    try:
        return pickle.loads(payload)
    except Exception as exc:  # a whole file of an incompatible Python or Numba
        raise DamagedEntry(path, f"unreadable ({type(exc).__name__}: {exc})") from exc


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def read_index(path, version):
    """An index file's ``(numba version, source stamp, overloads)``; ``DamagedEntry`` unless sound and written by
    Numba ``version``; ``FileNotFoundError`` when absent."""
    content = unpack(_read(path), path)
    if not (isinstance(content, tuple) and len(content) == 3 and isinstance(content[2], dict)):
        raise DamagedEntry(path, "not a fastnn index")
    if content[0] != version:
        raise DamagedEntry(path, f"written by Numba {content[0]}, this is Numba {version}")
    return content


def read_data(path, key):
    """The compiled kernel stored for ``key`` in a data file; ``DamagedEntry`` when missing, unsound or another
    key's."""
    try:
        blob = _read(path)
    except FileNotFoundError:
        raise DamagedEntry(path, "listed in the index but missing") from None
    content = unpack(blob, path)
    if not (isinstance(content, tuple) and len(content) == 2 and content[0] == key):
        raise DamagedEntry(path, "holds another kernel or signature than its index entry")
    return content[1]


class CheckedCacheFile(caching.IndexDataCacheFile):
    """Numba's index + data files for one kernel, in the checked format above."""

    def data_path(self, key):
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
        return self._data_path(self._data_name_pattern.replace("{number:d}", digest))

    def read_index(self):
        """``(numba version, source stamp, overloads)``; None when there is no index; ``DamagedEntry``."""
        try:
            return read_index(self._index_path, self._version)
        except FileNotFoundError:
            return None

    def _load_index(self):
        content = self.read_index()
        if content is None or content[1] != self._source_stamp:  # stale: the kernel's source changed
            return {}
        return content[2]

    def load(self, key):
        name = self._load_index().get(key)
        if name is None:
            return None
        return read_data(self._data_path(name), key)

    def save(self, key, data):
        path = self.data_path(key)
        with self._open_for_write(path) as f:
            f.write(pack((key, data)))
        try:
            content = self.read_index()
        except DamagedEntry:
            content = None
        name = os.path.basename(path)
        overloads = content[2] if content is not None and content[1] == self._source_stamp else {}
        if content is not None and content[1] != self._source_stamp:  # the stale source's kernels go
            self._remove(self._data_path(n) for n in set(content[2].values()) - {name})
        overloads[key] = name
        self._save_index(overloads)

    def _save_index(self, overloads):
        with self._open_for_write(self._index_path) as f:
            f.write(pack((self._version, self._source_stamp, overloads)))

    def has(self, key):
        """Whether ``key`` is listed in a sound, fresh index and its data file exists (its contents are checked only
        when loaded)."""
        try:
            name = self._load_index().get(key)
        except (DamagedEntry, OSError):
            return False
        return name is not None and os.path.exists(self._data_path(name))

    def evict(self, damage):
        """Remove the damaged file so that the next save starts clean (best effort: the folder may be read-only)."""
        self._remove([damage.path])

    @staticmethod
    def _remove(paths):
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                pass


def inspect(folder):
    """``[(file name, reason)]`` for every index or data file of this Numba version in ``folder`` that a load would
    reject (stale source stamps aside: they depend on the source file, and are simply recompiled). Files of other
    Numba versions belong to other environments sharing the folder; this one never reads them."""
    own = f".numba{numba.__version__}.nbi"
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(own))
    except OSError:
        return []
    bad = []
    for name in names:
        try:
            overloads = read_index(os.path.join(folder, name), numba.__version__)[2]
            for key, data_name in overloads.items():
                try:
                    read_data(os.path.join(folder, data_name), key)
                except (DamagedEntry, OSError) as exc:
                    bad.append((data_name, getattr(exc, "reason", str(exc))))
        except (DamagedEntry, OSError) as exc:
            bad.append((name, getattr(exc, "reason", str(exc))))
    return bad
