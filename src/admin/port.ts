/** The Witness service's operator port, as the admin API uses it (declared by src/witness). */
export * from '../witness/admin-port';
