"""The training floor: the solver loops (mini-batch epochs, L-BFGS), early stopping and its scores, the epoch event
stream and its listeners (scikit-learn's callbacks, the progress bar), and the checks on the arrays a fit is given."""
