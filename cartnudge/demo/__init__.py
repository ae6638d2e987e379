"""The reference shop: a schema that satisfies the shop contract, and a seeder for demos and tests."""
