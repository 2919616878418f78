"""Planning: material requirements (MRP), and later scheduling and order promising. It reads every area through
their services and writes through them; its engines are pure functions over plain data."""
