"""Model providers: one module per wire API (base.py is the interface every run uses)."""
