//! Parquet/Arrow table I/O: atomic shard writers, readers, schemas, inspection.
