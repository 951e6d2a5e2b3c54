//! The built-in stages (preprocess, embed, train, knn, report) wired to the pipeline engine.
