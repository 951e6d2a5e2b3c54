//! Declarative pipeline engine: config, stage graph, run layout, caching, sharding.
