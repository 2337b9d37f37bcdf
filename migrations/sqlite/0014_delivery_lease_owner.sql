-- Which replica (process) leased a delivery: when it dies, the sweep of dead replicas' work
-- releases its leases at once instead of leaving them to run out (two minutes), so a restart
-- or a surviving replica sends what the dead one had claimed (src/store/shared.rs).
ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT;
-- The sweep looks at leased deliveries only (a handful), not at the whole delivery history.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_owner)
    WHERE lease_until_us IS NOT NULL;
