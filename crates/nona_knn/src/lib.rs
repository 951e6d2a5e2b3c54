//! Exact k-NN regression with scikit-learn-identical grid-search tuning.
