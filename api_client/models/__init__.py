"""Wire models, one module per area of the platform. Import from the area's module."""
