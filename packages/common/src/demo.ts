/**
 * The demo people every subgraph seeds its own part for on first start. Their ids are fixed so that each subgraph
 * can seed without asking another; all share the password below.
 */
export const DEMO_PASSWORD = 'demo-password';

/** One demo person, with what Instagram and Threads need to seed their own rows for them. */
export interface DemoPerson {
  id: number;
  username: string;
  fullName: string;
  bio: string;
}

/** The demo logins the README lists. Instagram moves its id sequence past them, so sign-ups never collide. */
export const DEMO_PEOPLE: readonly DemoPerson[] = [
  { id: 1, username: 'alice', fullName: 'Alice Moreau', bio: 'Ceramics, coffee and long walks.' },
  { id: 2, username: 'bob', fullName: 'Bob Okafor', bio: 'Backend engineer. Opinions on databases.' },
  { id: 3, username: 'carol', fullName: 'Carol Lindqvist', bio: 'Photographer in Stockholm.' },
  { id: 4, username: 'dave', fullName: 'Dave Castillo', bio: 'Trail running and bad puns.' },
  { id: 5, username: 'erin', fullName: 'Erin Walsh', bio: 'Product designer.' },
  { id: 6, username: 'frank', fullName: 'Frank Nakamura', bio: 'Jazz piano, late nights.' },
];

/** Demo person id by username; throws for a name that is not in the demo set. */
export function demoId(username: string): number {
  const person = DEMO_PEOPLE.find((p) => p.username === username);
  if (!person)
    throw new Error(`demoId: expected one of ${DEMO_PEOPLE.map((p) => p.username).join(', ')}, got ${username}`);
  return person.id;
}
