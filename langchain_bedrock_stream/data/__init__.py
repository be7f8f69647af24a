"""Data files: model facts generated from models.dev (``models_dev.json``), the reviewed
Bedrock-specific facts (``bedrock_facts.toml``) and list prices (``prices.json``).

``python -m langchain_bedrock_stream.data.refresh`` regenerates ``models_dev.json``.
"""
