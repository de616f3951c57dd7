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

export interface BundleRecord {
  domain: string;
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface BundleRepo {
  /** Undefined when a bundle of that name exists in the domain. */
  create(domain: string, name: string, by: string): Promise<BundleRecord | undefined>;
  get(domain: string, name: string): Promise<BundleRecord | undefined>;
  list(domain: string): Promise<BundleRecord[]>;
}
