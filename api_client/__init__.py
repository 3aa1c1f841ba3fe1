"""The wire contract (pydantic models shared with the backend) and the async HTTP client."""
