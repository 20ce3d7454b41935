"""Block storage's service layer: policy, business rules, the database and RPC calls."""
