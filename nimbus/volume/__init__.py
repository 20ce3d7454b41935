"""Block storage: Cinder v3 API, scheduler, volume conductor, volume managers and backends."""
