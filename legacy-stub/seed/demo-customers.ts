/**
 * Customers the storefront's login form knows, one per customer group, so that a shopper can see
 * prices change with the group. The password is public on purpose: this is a demo shop.
 */
export const DEMO_PASSWORD = 'password123';

export const demoCustomers = [
  { email: 'general@example.com', firstname: 'Gina', lastname: 'General', group_id: 1 },
  { email: 'wholesale@example.com', firstname: 'Walter', lastname: 'Wholesale', group_id: 2 },
  { email: 'retailer@example.com', firstname: 'Rita', lastname: 'Retailer', group_id: 3 },
] as const;
