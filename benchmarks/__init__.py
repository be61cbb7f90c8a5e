"""fastnn's benchmarks: an asv suite (``bench_*.py``, config in ``asv.conf.json`` at the repository root) and
``compare.py``, a plain script that times fastnn against scikit-learn and PyTorch. ``common.py`` holds what
both share: the data sets, the estimator factory and the warm-up that keeps Numba compile time out of timings.
"""
