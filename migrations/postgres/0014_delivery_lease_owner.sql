-- Which replica (process) leased a delivery: when it dies, the sweep of dead replicas' work
-- releases its leases at once instead of leaving them to run out (two minutes), so a restart
-- or a surviving replica sends what the dead one had claimed (src/store/shared.rs).
ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT;
