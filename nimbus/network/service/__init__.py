"""Network's service layer: policy, business rules and the database, one module per resource."""
