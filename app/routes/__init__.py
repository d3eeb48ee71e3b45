"""Routes, by audience. Every router uses TransactionalRoute and declares who may call it."""
