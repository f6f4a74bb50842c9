-- 002: output as bytes. Handlers may print anything; text held only UTF-8
-- (a NUL or a stray byte was refused or replaced), and `logs` promises the
-- bytes as captured.
ALTER TABLE conductor.executions ALTER COLUMN output TYPE bytea USING convert_to(output, 'UTF8');
