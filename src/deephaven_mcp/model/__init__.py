"""The typed values that cross layers: tool arguments (filters, sort, aggregations), the
shaped-slice and result base types, and timeouts; shared by the Python API and the servers."""
