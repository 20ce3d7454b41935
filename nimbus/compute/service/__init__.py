"""Compute's service layer: policy, business rules, the database; routers call these."""
