"""Image's service layer: policy, visibility, business rules, the database and the store."""
