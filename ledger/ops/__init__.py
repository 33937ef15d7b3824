"""Role operations (operator, customer, provider) as plain functions over a chain and keypairs: what the
role commands and the demo call. Each builds instructions with contracts.client.BillingProgram, sends one
transaction and waits for it, and turns any failure into one OpError line naming the program error."""
