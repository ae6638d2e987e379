"""The reference shop: a schema satisfying the shop contract, and a seeder for demos and tests."""
