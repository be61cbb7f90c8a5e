"""The numpydoc checks the API reference's docstrings pass: docs/conf.py validates them during the build,
tests/test_docs_numpydoc.py in the test suite. GL08 a docstring exists, PR01 every parameter is documented, PR02 no
documented parameter is unknown, PR07 each parameter has a description, EX01 an Examples section exists.
``NOT_YET``: the listed names still without numpydoc sections (the build skips them; the test fails once one
passes, so the set only shrinks).
"""
CHECKS = {"GL08", "PR01", "PR02", "PR07", "EX01"}
NOT_YET = {
    "fastnn.MLPClassifier", "fastnn.MLPRegressor", "fastnn.CNNClassifier", "fastnn.NeuralNetClassifier",
    "fastnn.NeuralNetRegressor", "fastnn.Sequential", "fastnn.layers.Layer", "fastnn.layers.Activation",
    "fastnn.layers.all_finite", "fastnn.layers.kernel_array", "fastnn.losses.Loss", "fastnn.optimizers.Optimizer",
    "fastnn.optimizers.EpochSchedule", "fastnn.onnx.to_onnx", "fastnn.onnx.network_to_onnx",
    "fastnn.onnx.register_estimator", "fastnn.onnx.converts", "fastnn.plotting.plot_learning_curves",
    "fastnn.plotting.save_figure", "fastnn.gradcheck.numerical_gradient",
    "fastnn.gradcheck.check_layer", "fastnn.datasets.load_idx", "fastnn.datasets.save_idx",
   
    "fastnn.show_versions", "fastnn.warmup",
   
    "fastnn.exceptions.InconsistentVersionWarning",
}
