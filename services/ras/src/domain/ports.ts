export interface DomainRecord {
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface DomainRepo {
  /** Creates the domain and its policy.changed event atomically; false if it existed. */
  create(name: string, by: string): Promise<DomainRecord | undefined>;
  get(name: string): Promise<DomainRecord | undefined>;
  list(): Promise<DomainRecord[]>;
}
